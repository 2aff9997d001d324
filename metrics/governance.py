"""The custodian's and the assessor's writes: frameworks, registry, periods and verification.

Each function takes the acting user, checks the role and scope, changes the store in one
transaction and writes the audit row in that same transaction.
"""

from __future__ import annotations

from metrics.auth import Action, User, require
from metrics.errors import PeriodClosed, ValidationError
from metrics.framework import Framework, framework_for_year, parse_framework
from metrics.registry import City, Opd, parse_registry_csv

PERIOD_STATES = ("open", "closed", "locked")


def load_framework_text(store, user: User, text: str) -> tuple[Framework, int]:
    require(user, Action.LOAD_FRAMEWORK)
    fw = parse_framework(text)
    with store.transaction() as cur:
        seq = store.save_framework(cur, fw, user.username)
        store.write_audit(cur, user, "framework.load", f"framework:{fw.id}", None,
                          {"seq": seq, "applies_from": fw.applies_from, "indicators": len(fw.indicators)})
    return fw, seq


def load_registry_bytes(store, user: User, data: bytes, file: str) -> tuple[str, int, int]:
    """Load a cities or OPDs CSV; returns (kind, added, updated)."""
    require(user, Action.MANAGE_REGISTRY)
    items = parse_registry_csv(data, file)
    with store.transaction() as cur:
        if items and isinstance(items[0], City):
            kind = "cities"
            added, updated = store.upsert_cities(cur, items)
        else:
            kind = "opds"
            known = store.city_codes(cur)
            missing = sorted({o.city_code for o in items if o.city_code not in known})
            if missing:
                raise ValidationError("cell.unknown_city", value=", ".join(missing))
            added, updated = store.upsert_opds(cur, items)
        store.write_audit(cur, user, "registry.load", f"registry:{kind}", None,
                          {"file": file, "added": added, "updated": updated})
    return kind, added, updated


def save_city(store, user: User, city: City) -> None:
    require(user, Action.MANAGE_REGISTRY, city.city_code)
    with store.transaction() as cur:
        store.upsert_cities(cur, [city])
        store.write_audit(cur, user, "registry.city", f"city:{city.city_code}", None, city.__dict__)


def save_opd(store, user: User, opd: Opd) -> None:
    require(user, Action.MANAGE_REGISTRY, opd.city_code)
    if opd.city_code not in store.city_codes():
        raise ValidationError("cell.unknown_city", value=opd.city_code)
    with store.transaction() as cur:
        store.upsert_opds(cur, [opd])
        store.write_audit(cur, user, "registry.opd", f"opd:{opd.city_code}/{opd.opd_code}", None, opd.__dict__)


def set_period(store, user: User, city: str, year: int, status: str) -> str:
    """Open, close or lock a city's year. Locking is final; only an admin changes any of it."""
    if status not in PERIOD_STATES:
        raise ValueError(status)
    require(user, Action.LOCK if status == "locked" else Action.PERIOD, city)
    with store.transaction() as cur:
        before = store.period_status(city, year, cur)
        if before == "locked" and status != "locked":
            raise PeriodClosed("period.locked", city=city, year=year)
        store.set_period_status(cur, city, year, status, user.username)
        store.write_audit(cur, user, f"period.{status}", f"period:{city}/{year}", {"status": before},
                          {"status": status})
    return before


def verify(store, user: User, city: str, year: int, indicator: str, level: int, note: str = "") -> int:
    """Record an assessor's verified level; it overrides self-assessment and metrics in scoring."""
    require(user, Action.VERIFY, city)
    fw = framework_for_year(store.frameworks(), year)
    if fw is None or fw.indicator(indicator) is None:
        raise ValidationError("cell.unknown_indicator", value=indicator, framework=fw.id if fw else "-")
    if isinstance(level, bool) or not isinstance(level, int) or not fw.scale_min <= level <= fw.scale_max:
        raise ValidationError("cell.level_range", value=level, min=fw.scale_min, max=fw.scale_max)
    with store.transaction() as cur:
        if store.period_status(city, year, cur) == "locked":
            raise PeriodClosed("period.locked", city=city, year=year)
        prev = store.current_verification(cur, city, year, indicator)
        vid = store.add_verification(cur, city, year, indicator, level, note, user.username)
        store.write_audit(cur, user, "verification.create", f"indicator:{city}/{year}/{indicator}",
                          {"level": prev[0], "note": prev[1]} if prev else None, {"level": level, "note": note})
    return vid
