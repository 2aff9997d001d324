"""Access control through the core functions themselves, not only auth.can (tests/unit/test_auth.py
has that table): every role performs every core action for real, and exactly the expected set
succeeds. A refused action raises PermissionDenied (or, for an upload, comes back rejected with
perm.denied) and changes nothing; an allowed one writes its audit row.

Read-side actions without a user-taking core function yet (reading scores, another OPD's drafts
or submissions, the audit log) are covered where they are enforced today: page visibility in
the dashboard (tests/security/test_pages.py).
"""

from __future__ import annotations

import pytest

from metrics import reports, users
from metrics.auth import ANONYMOUS, User
from metrics.backup import make_backup
from metrics.errors import PermissionDenied
from metrics.governance import load_framework_text, load_registry_bytes, set_period, verify
from metrics.ingest import ingest_bytes
from tests.conftest import MINI_YAML, make_mini_store

ROLES = {
    "admin": User("adm", "admin"),
    "executive": User("wk", "executive", "0101"),
    "opd": User("op", "opd", "0101", "01"),
    "assessor": User("pn", "assessor"),
    "viewer": User("tm", "viewer"),
    "anonymous": ANONYMOUS,
}
HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"


def _upload(city, opd, code):
    def act(store, user, tmp):
        r = ingest_bytes(
            store, user, (HEAD + f"{city},{opd},2023,{code},2,,\n").encode(), f"{city}_{opd}.csv"
        )
        if not r.accepted:
            assert [p.key for p in r.problems] == ["perm.denied"], r.to_dict("en")
            raise PermissionDenied("perm.denied", role=user.role, action="upload", scope="")

    return act


# action -> (performs it as `user`, the roles allowed to)
ACTIONS = {
    "upload for own OPD": (_upload("0101", "01", "G1"), {"admin", "opd"}),
    "upload for another OPD": (_upload("0101", "02", "G2"), {"admin"}),
    "upload for another city": (_upload("0202", "01", "G1"), {"admin"}),
    "verify": (lambda s, u, t: verify(s, u, "0101", 2023, "G1", 2, "cek"), {"admin", "assessor"}),
    "export own city": (
        lambda s, u, t: reports.export(s, u, 2023, "0101", "csv"),
        {"admin", "executive", "assessor"},
    ),
    "export another city": (
        lambda s, u, t: reports.export(s, u, 2023, "0202", "xlsx"),
        {"admin", "assessor"},
    ),
    "open year": (lambda s, u, t: set_period(s, u, "0101", 2030, "open"), {"admin"}),
    "close year": (lambda s, u, t: set_period(s, u, "0101", 2030, "closed"), {"admin"}),
    "lock year": (lambda s, u, t: set_period(s, u, "0101", 2031, "locked"), {"admin"}),
    "manage users": (
        lambda s, u, t: users.add_user(s, u, "akun.baru", "Sandi-Panjang-9", "viewer"),
        {"admin"},
    ),
    "load framework": (
        lambda s, u, t: load_framework_text(s, u, MINI_YAML.read_text(encoding="utf-8")),
        {"admin"},
    ),
    "load registry": (
        lambda s, u, t: load_registry_bytes(
            s, u, b"city_code,name,province,category,population\n0303,Kota Baru,Bali,kecil,10\n", "c.csv"
        ),
        {"admin"},
    ),
    "backup": (lambda s, u, t: make_backup(s, u, t / f"backup-{u.username}.zip"), {"admin"}),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """role -> {action: 'allowed' | 'denied'}, each role on its own store, actions in order."""
    result: dict[str, dict[str, str]] = {}
    for role, user in ROLES.items():
        tmp = tmp_path_factory.mktemp(role)
        store = make_mini_store(tmp / "m.duckdb")
        got = {}
        for name, (act, _allowed) in ACTIONS.items():
            before_fp, before_audit = store.content_fingerprint(), store.audit_count()
            try:
                act(store, user, tmp)
            except PermissionDenied as exc:
                assert exc.key == "perm.denied" and exc.message("id") and exc.message("en")
                assert store.content_fingerprint() == before_fp, (
                    f"{role} {name}: refused but changed the store"
                )
                got[name] = "denied"
            else:
                assert store.audit_count() > before_audit, f"{role} {name}: allowed but not audited"
                got[name] = "allowed"
        store.close()
        result[role] = got
    return result


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_can_do_exactly_its_actions(outcomes, role):
    expected = {name: ("allowed" if role in allowed else "denied") for name, (_a, allowed) in ACTIONS.items()}
    assert outcomes[role] == expected


def test_matrix_has_no_leak_and_no_dead_action(outcomes):
    """Every action is allowed to someone (so the denials are not a broken function) and
    refused to anonymous and viewers."""
    for name in ACTIONS:
        assert any(outcomes[r][name] == "allowed" for r in ROLES), name
        assert outcomes["anonymous"][name] == "denied" and outcomes["viewer"][name] == "denied"


def test_disabled_account_can_do_nothing(tmp_path):
    store = make_mini_store(tmp_path / "m.duckdb")
    ghost = User("adm", "admin", active=False)
    for name, (act, _allowed) in ACTIONS.items():
        before = store.content_fingerprint()
        with pytest.raises(PermissionDenied):
            act(store, ghost, tmp_path)
        assert store.content_fingerprint() == before, name
    store.close()
