"""The custodian's and the assessor's writes: frameworks, registry, periods and verification.

Each function takes the acting user, checks the role and scope, validates everything before
writing, changes the store in one transaction and writes the audit row in that same
transaction, so a refused request changes nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING, SupportsIndex, cast

from metrics.auth import Action, User, require
from metrics.errors import PeriodClosed, ValidationError
from metrics.framework import Framework, framework_for_year, parse_framework
from metrics.loaded_frameworks import loaded_frameworks
from metrics.progress import Progress, done, report
from metrics.readers import DEFAULT_LIMITS
from metrics.registry import City, CityPopulation, Opd, parse_registry_csv

if TYPE_CHECKING:
    from metrics.storage import Cursor, Storage

PERIOD_STATES = ("open", "closed", "locked")
YEAR_MIN, YEAR_MAX = 1900, 2200  # the same bounds a framework's applies_from must keep


def load_framework_text(
    store: Storage, user: User, text: str, progress: Progress | None = None
) -> tuple[Framework, int]:
    """Load a framework; `progress` hears of the check and of the save (the score rebuild of the
    years it applies to runs in that same transaction, and is the long part)."""
    require(user, Action.LOAD_FRAMEWORK)
    report(progress, "progress.framework_parse", 0.0)
    fw = parse_framework(text)
    report(progress, "progress.framework_save", 0.2)
    with store.transaction() as cur:
        seq = store.save_framework(cur, fw, user.username)
        store.write_audit(
            cur,
            user,
            "framework.load",
            f"framework:{fw.id}",
            None,
            {"seq": seq, "applies_from": fw.applies_from, "indicators": len(fw.indicators)},
        )
    done(progress)
    return fw, seq


def load_framework_bytes(
    store: Storage, user: User, data: bytes, file: str, progress: Progress | None = None
) -> tuple[Framework, int]:
    """A framework YAML file as uploaded (UTF-8, BOM allowed, at most the upload cap)."""
    require(user, Action.LOAD_FRAMEWORK)
    return load_framework_text(store, user, framework_upload_text(data), progress)


def framework_upload_text(data: bytes) -> str:
    """The text of an uploaded framework file: the one rule for its size cap and encoding (a
    load and a what-if preview both read uploads through it)."""
    if len(data) > DEFAULT_LIMITS.max_bytes:
        raise ValidationError("file.too_large", size=len(data), limit=DEFAULT_LIMITS.max_bytes)
    if not data.strip():
        raise ValidationError("file.empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("framework.not_utf8", pos=exc.start) from None


def load_registry_bytes(store: Storage, user: User, data: bytes, file: str) -> tuple[str, int, int]:
    """Load a cities, OPDs or population-by-year CSV; returns (kind, added, updated)."""
    require(user, Action.MANAGE_REGISTRY)
    items = parse_registry_csv(data, file)
    with store.transaction() as cur:
        if items and isinstance(items[0], City):
            kind = "cities"
            added, updated = store.upsert_cities(cur, items)
        elif items and isinstance(items[0], CityPopulation):
            kind = "population"
            rows = items
            missing = sorted({r.city_code for r in rows} - store.city_codes(cur))
            if missing:
                raise ValidationError("cell.unknown_city", value=", ".join(missing))
            added, updated = store.upsert_population(cur, rows)
        else:
            kind = "opds"
            known = store.city_codes(cur)
            opds = cast(list[Opd], items)  # one kind per file: not cities, so OPDs (or none)
            missing = sorted({o.city_code for o in opds if o.city_code not in known})
            if missing:
                raise ValidationError("cell.unknown_city", value=", ".join(missing))
            added, updated = store.upsert_opds(cur, opds)
        store.write_audit(
            cur,
            user,
            "registry.load",
            f"registry:{kind}",
            None,
            {"file": file, "added": added, "updated": updated},
        )
    return kind, added, updated


def save_city(store: Storage, user: User, city: City) -> None:
    require(user, Action.MANAGE_REGISTRY, city.city_code)
    with store.transaction() as cur:
        store.upsert_cities(cur, [city])
        store.write_audit(cur, user, "registry.city", f"city:{city.city_code}", None, city.__dict__)


def save_opd(store: Storage, user: User, opd: Opd) -> None:
    require(user, Action.MANAGE_REGISTRY, opd.city_code)
    if opd.city_code not in store.city_codes():
        raise ValidationError("cell.unknown_city", value=opd.city_code)
    with store.transaction() as cur:
        store.upsert_opds(cur, [opd])
        store.write_audit(
            cur, user, "registry.opd", f"opd:{opd.city_code}/{opd.opd_code}", None, opd.__dict__
        )


def _check_year(year: object) -> int:
    # an int or a numpy integer; never a float, text or bool
    y = operator.index(year) if isinstance(year, SupportsIndex) else None
    if isinstance(year, bool) or y is None or not YEAR_MIN <= y <= YEAR_MAX:
        raise ValidationError("cell.year", value=year)
    return int(y)


def check_city(store: Storage, city: str) -> None:
    """Refuse a city code the registry does not hold (the one check every city-scoped write makes)."""
    if city not in store.city_codes():
        raise ValidationError("cell.unknown_city", value=city)


def set_period(store: Storage, user: User, city: str, year: int, status: str) -> str:
    """Open, close or lock a city's year; returns the status before.

    Closing stops uploads (ingest refuses a closed year) while assessors may still verify; only
    a role with Action.PERIOD (the admin) opens or reopens a year. Locking is final: nothing
    reopens a locked year and no level in it changes any more.
    """
    if status not in PERIOD_STATES:
        raise ValueError(status)
    require(user, Action.LOCK if status == "locked" else Action.PERIOD, city)
    year = _check_year(year)
    check_city(store, city)
    with store.transaction() as cur:
        before = store.period_status(city, year, cur)
        if before == "locked" and status != "locked":
            raise PeriodClosed("period.locked", city=city, year=year)
        store.set_period_status(cur, city, year, status, user.username)
        store.write_audit(
            cur, user, f"period.{status}", f"period:{city}/{year}", {"status": before}, {"status": status}
        )
    return before


def verify(
    store: Storage, user: User, city: str, year: int, indicator: str, level: int, note: str = ""
) -> int:
    """Record an assessor's verified level; it overrides self-assessment and metrics in scoring."""
    return verify_many(store, user, city, year, [(indicator, level, note)])[0]


def verify_many(
    store: Storage, user: User, city: str, year: int, items: Iterable[tuple[str, object, object]]
) -> list[int]:
    """Record several verified levels of one city-year at once: all of them or none.

    `items` are (indicator, level, note). Every item is checked (indicator in the year's
    framework, level an integer on its scale, note length) before anything is written; the
    writes and one audit row per verification share one transaction. A locked year refuses.
    """
    require(user, Action.VERIFY, city)
    items = list(items)
    if not items:
        return []
    year = _check_year(year)
    check_city(store, city)
    checked = check_verifications(store, year, items)
    with store.transaction() as cur:
        if store.period_status(city, year, cur) == "locked":
            raise PeriodClosed("period.locked", city=city, year=year)
        return record_verifications(store, cur, user, city, year, checked)


def check_verifications(
    store: Storage, year: int, items: Iterable[tuple[str, object, object]]
) -> list[tuple[str, int, str]]:
    """The one rule of a verified level (indicator in the year's framework, level an integer on its
    scale, note length), shared by verify_many and the clarification loop's "verified at N"."""
    fw = framework_for_year(loaded_frameworks(store), year)
    checked: list[tuple[str, int, str]] = []
    for indicator, level, note in items:
        if fw is None or fw.indicator(indicator) is None:
            raise ValidationError("cell.unknown_indicator", value=indicator, framework=fw.id if fw else "-")
        if isinstance(level, bool) or not isinstance(level, int) or not fw.scale_min <= level <= fw.scale_max:
            raise ValidationError("cell.level_range", value=level, min=fw.scale_min, max=fw.scale_max)
        note = "" if note is None else str(note)
        if len(note) > DEFAULT_LIMITS.max_text:
            raise ValidationError("cell.text_too_long", n=len(note), limit=DEFAULT_LIMITS.max_text)
        checked.append((indicator, int(level), note))
    return checked


def record_verifications(
    store: Storage, cur: Cursor, user: User, city: str, year: int, checked: list[tuple[str, int, str]]
) -> list[int]:
    """Write levels checked by check_verifications, one audit row each, in the caller's transaction
    (which has checked the role, the scope and that the year is not locked)."""
    ids = []
    for indicator, level, note in checked:
        prev = store.current_verification(cur, city, year, indicator)
        ids.append(store.add_verification(cur, city, year, indicator, level, note, user.username))
        store.write_audit(
            cur,
            user,
            "verification.create",
            f"indicator:{city}/{year}/{indicator}",
            {"level": prev[0], "note": prev[1]} if prev else None,
            {"level": level, "note": note},
        )
    return ids


NA_DECISIONS = ("accepted", "rejected")


def decide_na(
    store: Storage, user: User, city: str, year: int, indicator: str, accepted: bool, note: str = ""
) -> int:
    """Record an assessor's word on a city-year's "tidak berlaku" answer to `indicator` (issue 17).

    Accepted, the indicator leaves its dimension's and pillar's denominators and completeness;
    rejected, it counts as missing and goes back to the OPD with `note` (required then). Refused:
    no "tidak berlaku" answer to `indicator` in the city-year's submissions in force, a locked
    year, a note too long. The decision and its audit row (before/after) share one transaction.
    """
    require(user, Action.VERIFY, city)
    year = _check_year(year)
    check_city(store, city)
    note = "" if note is None else str(note).strip()
    if not accepted and not note:
        raise ValidationError("na.note_required", indicator=indicator)
    if len(note) > DEFAULT_LIMITS.max_text:
        raise ValidationError("cell.text_too_long", n=len(note), limit=DEFAULT_LIMITS.max_text)
    decision = NA_DECISIONS[0] if accepted else NA_DECISIONS[1]
    with store.transaction() as cur:
        if store.period_status(city, year, cur) == "locked":
            raise PeriodClosed("period.locked", city=city, year=year)
        claims = [c for c in store.na_claims(city, year, cur=cur) if c["indicator_code"] == indicator]
        if not claims:
            raise ValidationError("na.no_claim", indicator=indicator, city=city, year=year)
        prev = store.current_na_decision(cur, city, year, indicator)
        nid = store.add_na_decision(cur, city, year, indicator, decision, note, user.username)
        store.write_audit(
            cur,
            user,
            "na.accept" if accepted else "na.reject",
            f"indicator:{city}/{year}/{indicator}",
            {"decision": prev[0], "note": prev[1]} if prev else None,
            {"decision": decision, "note": note, "opds": sorted(c["opd_code"] for c in claims)},
        )
    return nid
