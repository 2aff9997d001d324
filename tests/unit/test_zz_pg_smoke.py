import pytest

from metrics.auth import SYSTEM

pytestmark = pytest.mark.both_backends


def test_mini_opens(mini, backend):
    assert type(mini).__name__ == ("PgStore" if backend == "postgresql" else "Store")
    assert mini.city_codes() == {"0101", "0202"}
    with mini.transaction() as cur:
        mini.write_audit(cur, SYSTEM, "t", "o")
    from metrics import audit

    rep = audit.verify_store(mini)
    assert not rep.broken, rep
