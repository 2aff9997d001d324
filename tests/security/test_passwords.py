"""Passwords through the account functions: argon2id at OWASP's floor as stored, length 8 to
well past 64, the shipped common-password list. (Failed sign-ins are throttled, not locked out:
tests/security/test_login_throttle.py; tests/unit/test_auth.py drives 100 attempts against one account.)"""

from __future__ import annotations

import re

import pytest

from metrics import users
from metrics.auth import SYSTEM, common_passwords
from metrics.errors import ValidationError

pytestmark = pytest.mark.both_backends


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


# ------------------------------------------------------- the maintained list (issue 16, point 5)

# Entries from deep in the shipped list (its 12,000th line on), none on the old 142-line list.
DEEP = (
    "kowalski",
    "ginger11",
    "thegreat",
    "22071972",
    "mcgrady1",
    "playgirl1",
    "BlackCat123",
    "NASHVILLE",
    "baller13",
    "america7",
    "LilMama12",
    "donaldduck",
)


def test_the_shipped_list_has_over_10000_entries_and_names_its_source_and_licence():
    from pathlib import Path

    import metrics.auth

    text = Path(metrics.auth.__file__).with_name("common_passwords.txt").read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Source: Django" in header and "Royce Williams" in header and "BSD-3-Clause" in header
    assert "Redistribution and use in source and binary forms" in header  # the licence, whole
    words = common_passwords()
    assert len(words) >= 19_000
    assert all(w == w.lower() and w == w.strip() and w for w in words)


@pytest.mark.parametrize("pw", DEEP)
def test_entries_deep_in_the_list_are_refused_in_any_case(mini, pw):
    with pytest.raises(ValidationError) as exc:
        users.add_user(mini, SYSTEM, "pemakai", pw, "viewer")
    assert exc.value.key == "user.password_common"
    users.add_user(mini, SYSTEM, "pemakai", "Sandi-Panjang-1", "viewer")
    with pytest.raises(ValidationError):
        users.set_password(mini, SYSTEM, "pemakai", pw.swapcase())


@pytest.mark.parametrize(
    "pw",
    [
        "kotacerdas",
        "Kota Cerdas 2024",
        "KotaCerdas2024!",
        "SmartCity2025",
        "Diskominfo#1",
        "indekskotacerdas",
        "Sukamaju2024",
        "KotaTirtamulya1",
        "LembahHijau!!",
        "walikota123",
        "sayangku123",  # Indonesian list (SecLists)
    ],
)
def test_the_products_own_names_are_refused_also_with_a_year_or_symbols(mini, pw):
    with pytest.raises(ValidationError) as exc:
        users.add_user(mini, SYSTEM, "pemakai", pw, "viewer")
    assert exc.value.key == "user.password_common"


def test_the_local_list_names_every_demo_city_and_opd_type():
    from metrics import demo
    from metrics.auth import local_passwords

    words = local_passwords()
    for c in demo.CITIES:
        name = c.name.lower()
        assert name.replace(" ", "") in words
        assert name.split(" ", 1)[1].replace(" ", "") in words  # without "kota"/"kabupaten"
    assert {t.lower() for t in demo.OPD_NAMES} <= words


def test_a_password_that_only_contains_a_product_name_is_still_accepted(mini):
    # the rule is "a listed word plus digits or symbols", not "contains a listed word"
    users.add_user(mini, SYSTEM, "pemakai", "Sukamaju-menuju-kota-cerdas", "viewer")
    assert users.login(mini, "pemakai", "Sukamaju-menuju-kota-cerdas").user.username == "pemakai"


# ---------------------------------------------------------------- the demo password (point 5)


def test_the_demo_password_is_refused_outside_a_demo_database(mini):
    from metrics.demo import DEMO_PASSWORD

    assert not users.is_demo_database(mini)
    n = mini.audit_count()
    for pw in (DEMO_PASSWORD, DEMO_PASSWORD.upper()):
        with pytest.raises(ValidationError) as exc:
            users.add_user(mini, SYSTEM, "pemakai", pw, "admin")
        assert exc.value.key == "user.password_demo"
        assert exc.value.message("id") != exc.value.message("en")
    assert mini.get_user_row("pemakai") is None and mini.audit_count() == n
    users.add_user(mini, SYSTEM, "pemakai", "Sandi-Panjang-1", "admin")
    with pytest.raises(ValidationError) as exc:
        users.set_password(mini, SYSTEM, "pemakai", DEMO_PASSWORD)
    assert exc.value.key == "user.password_demo"
    assert users.login(mini, "pemakai", "Sandi-Panjang-1").user.role == "admin"


def test_the_demo_password_works_in_a_demo_database(demo_store):
    from metrics.demo import DEMO_PASSWORD

    assert users.is_demo_database(demo_store)
    assert users.login(demo_store, "admin", DEMO_PASSWORD).user.role == "admin"
    users.add_user(demo_store, SYSTEM, "tamu.baru", DEMO_PASSWORD, "viewer")
    assert users.login(demo_store, "tamu.baru", DEMO_PASSWORD).user.username == "tamu.baru"
