"""Passwords through the account functions: argon2id at OWASP's floor as stored, length 8 to
well past 64, the shipped common-password list. (Failed sign-ins are throttled, not locked out:
tests/security/test_login_throttle.py; tests/unit/test_auth.py drives 100 attempts against one account.)"""

from __future__ import annotations

import re

import pytest

from metrics import users
from metrics.auth import SYSTEM, common_passwords
from metrics.errors import ValidationError


def test_stored_hash_is_argon2id_at_least_19_mib_and_two_passes(mini):
    users.add_user(mini, SYSTEM, "hash.cek", "Sandi-Panjang-1", "viewer")
    stored = mini.get_user_row("hash.cek")[1]
    m = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert m, stored
    assert int(m.group(1)) >= 19 * 1024 and int(m.group(2)) >= 2
    assert "Sandi-Panjang-1" not in stored


@pytest.mark.parametrize("length", [8, 64, 100, 128])
def test_lengths_from_8_to_beyond_64_are_accepted(mini, length):
    pw = ("Kota-Cerdas-" * 20)[:length]
    users.add_user(mini, SYSTEM, f"panjang.{length}", pw, "viewer")
    assert users.login(mini, f"panjang.{length}", pw).user.username == f"panjang.{length}"


@pytest.mark.parametrize(
    "pw,key",
    [
        ("Pendek7", "user.password_short"),
        ("x" * 129, "user.password_long"),
        ("password123", "user.password_common"),
        ("PASSWORD123", "user.password_common"),
    ],
)
def test_weak_passwords_refused_and_nothing_created(mini, pw, key):
    n = mini.audit_count()
    with pytest.raises(ValidationError) as exc:
        users.add_user(mini, SYSTEM, "lemah", pw, "viewer")
    assert exc.value.key == key and exc.value.message("id") != exc.value.message("en")
    assert mini.get_user_row("lemah") is None and mini.audit_count() == n


def test_common_password_list_is_shipped():
    words = common_passwords()
    assert len(words) >= 100 and "password123" in words and "admin123" in words
