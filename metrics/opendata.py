"""The open-data package of a published year: CSV and JSON of city, dimension, pillar and
indicator results, with a Frictionless `datapackage.json` that describes every column in
Indonesian and English and carries a licence. No personal data and no evidence files: only
published results.

Why a module of its own: the package is one product made twice, as files by
`python -m metrics publish` (audited as `opendata.publish`) and as a ZIP from the public
Ringkasan page (audited as an export by `metrics.exports`), and both must hold the same bytes.
So it is built once, in memory, from the core's own numbers (`scoring.score`,
`scoring.indicator_levels`), and it is deterministic: rows sorted by code, numbers at full
precision, and `created` taken from the data (the newest audited change of the database's
content), so the same data gives the same files, byte for byte.

What goes in is what the public may already read on the dashboard once the administrator has
made results public (`admin.public_read`): per city its index, band, ranks and completeness,
its dimension and pillar values, and per indicator the effective level and where it came from.
Not the OPDs' answers, evidence, notes, usernames or anything about a person. Names come from
uploaded registries and frameworks, so every text cell goes through the one spreadsheet
neutralisation (`reports.neutralise`), in the CSV and the JSON alike.

Field titles and descriptions: the standard `title` and `description` are Indonesian (the
default language); the English ones are the custom properties `title_en` and `description_en`
(Table Schema allows custom properties; frictionless keeps and validates them). The package's
own description carries both languages in full.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from metrics import admin, scoring
from metrics.auth import Action, User, require
from metrics.errors import CoreError, ValidationError
from metrics.i18n import DEFAULT_LANG, pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.reports import neutralise

if TYPE_CHECKING:
    from metrics.framework import Framework
    from metrics.storage import Storage

GENERATOR = "indeks-kota-cerdas/opendata"  # marks a folder as a package of ours (re-publish into it)
PUBLISH_ACTION = "opendata.publish"
PUBLISHER_SETTING = "instance_name"  # the instance's name, when the administrator has set one
DATAPACKAGE = "datapackage.json"
RESULTS_JSON = "results.json"
ZIP_MIME = "application/zip"

# SPDX id -> (the licence's page, its title). CC-BY-4.0 by default: reuse with attribution.
LICENSES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": (
        "https://creativecommons.org/licenses/by/4.0/",
        "Creative Commons Attribution 4.0 International",
    ),
    "CC-BY-SA-4.0": (
        "https://creativecommons.org/licenses/by-sa/4.0/",
        "Creative Commons Attribution Share-Alike 4.0 International",
    ),
    "CC0-1.0": ("https://creativecommons.org/publicdomain/zero/1.0/", "Creative Commons Zero v1.0 Universal"),
    "ODC-By-1.0": (
        "https://opendatacommons.org/licenses/by/1-0/",
        "Open Data Commons Attribution License v1.0",
    ),
    "ODbL-1.0": (
        "https://opendatacommons.org/licenses/odbl/1-0/",
        "Open Data Commons Open Database License v1.0",
    ),
}
DEFAULT_LICENSE = "CC-BY-4.0"

SOURCES = ("verified", "metric", "self", "missing", "na")  # scoring.IndicatorLevel.source
METHODS = ("rubric", "programmes", "survey")  # framework.Dimension.method


# ------------------------------------------------------------------------------ the one table of columns


@dataclass(frozen=True)
class Column:
    """One column of a CSV file: its Table Schema type and constraints. Its title and description
    are the texts `opendata.field.<name>` and `opendata.field.<name>.help` in both languages."""

    name: str
    type: str  # string | integer | number
    required: bool = False
    scale: bool = False  # a value on the framework's scale: minimum/maximum are its ends
    share: bool = False  # a share between 0 and 1
    positive: bool = False  # a rank: 1 or more
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """One CSV resource: file `<name>.csv`, its columns, its key, and whether it refers to cities."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    per_city: bool = True  # a foreign key city_code -> cities.city_code


_CITY = Column("city_code", "string", required=True)

TABLES: tuple[Table, ...] = (
    Table(
        "cities",
        (
            _CITY,
            Column("city_name", "string"),
            Column("province", "string"),
            Column("category", "string"),
            Column("year", "integer", required=True),
            Column("framework_id", "string", required=True),
            Column("index", "number", scale=True),
            Column("band_id", "string"),
            Column("band_en", "string"),
            Column("national_rank", "integer", positive=True),
            Column("province_rank", "integer", positive=True),
            Column("category_rank", "integer", positive=True),
            Column("completeness", "number", share=True),
            Column("indicators", "integer", required=True),
            Column("missing", "integer", required=True),
        ),
        ("city_code",),
        per_city=False,
    ),
    Table(
        "dimensions",
        (
            _CITY,
            Column("dimension_code", "string", required=True),
            Column("dimension_name_id", "string"),
            Column("dimension_name_en", "string"),
            Column("method", "string", required=True, enum=METHODS),
            Column("weight", "number", required=True),
            Column("value", "number", scale=True),
        ),
        ("city_code", "dimension_code"),
    ),
    Table(
        "pillars",
        (
            _CITY,
            Column("pillar_code", "string", required=True),
            Column("parent_pillar_code", "string"),
            Column("pillar_name_id", "string"),
            Column("pillar_name_en", "string"),
            Column("value", "number", scale=True),
        ),
        ("city_code", "pillar_code"),
    ),
    Table(
        "indicators",
        (
            _CITY,
            Column("indicator_code", "string", required=True),
            Column("indicator_name_id", "string"),
            Column("indicator_name_en", "string"),
            Column("dimension_code", "string", required=True),
            Column("pillar_code", "string", required=True),
            Column("subpillar_code", "string"),
            Column("weight", "number", required=True),
            Column("effective_level", "number", scale=True),
            Column("source", "string", required=True, enum=SOURCES),
        ),
        ("city_code", "indicator_code"),
    ),
)

FILE_NAMES: tuple[str, ...] = (*(f"{tb.name}.csv" for tb in TABLES), RESULTS_JSON, DATAPACKAGE)


# ------------------------------------------------------------------------------ the rows


@dataclass(frozen=True)
class _Rows:
    fw: Framework
    year: int
    rows: dict[str, list[list[object]]]  # table name -> rows in the order of its columns


def _has_data(s: scoring.CityScore) -> bool:
    """As the read pages say (views._has_data): a city-year with no level at all is not a result."""
    return s.indicators > 0 and s.missing < s.indicators


def _ranks(scores: list[scoring.CityScore], group: dict[str, str] | None) -> dict[str, int | None]:
    """Competition ranks (ties share a rank), nationally (group None) or within each group."""
    groups: dict[str, list[tuple[str, float | None]]] = {}
    for s in scores:
        groups.setdefault(group.get(s.city_code, "") if group else "", []).append((s.city_code, s.index))
    return {c: r for members in groups.values() for c, _, r in scoring.competition_ranks(members)}


def _clean(row: Iterable[object]) -> list[object]:
    """Every text cell through the reports' one neutralisation (names come from uploads)."""
    return [neutralise(v) for v in row]


def _rows(store: Storage, year: int) -> _Rows:
    """The published results of `year` in the order of TABLES' columns (raises when there are none)."""
    fws = {seq: fw for fw, seq in loaded_frameworks(store)}
    scores = [s for s in scoring.score(store, [year]) if _has_data(s) and s.fw_seq in fws]
    if not scores:
        raise CoreError("opendata.no_results", year=year)
    fw = fws[scores[0].fw_seq]  # one framework is in force for a year
    cities = {c.city_code: c for c in store.cities()}
    national = _ranks(scores, None)
    province = _ranks(scores, {c: x.province for c, x in cities.items()})
    category = _ranks(scores, {c: x.category for c, x in cities.items()})
    pillars = [*fw.pillars, *fw.subpillars]
    levels = scoring.indicator_levels_by_city(store, year)
    out: dict[str, list[list[object]]] = {tb.name: [] for tb in TABLES}
    for s in sorted(scores, key=lambda s: s.city_code):
        c = cities.get(s.city_code)
        out["cities"].append(
            _clean(
                [
                    s.city_code,
                    c.name if c else None,
                    c.province if c else None,
                    c.category if c else None,
                    year,
                    s.framework_id,
                    s.index,
                    s.band.label.get("id") if s.band else None,
                    pick(s.band.label, "en") if s.band else None,
                    national.get(s.city_code),
                    province.get(s.city_code),
                    category.get(s.city_code),
                    s.completeness,
                    s.indicators,
                    s.missing,
                ]
            )
        )
        for d in fw.dimensions:
            out["dimensions"].append(
                _clean(
                    [
                        s.city_code,
                        d.code,
                        d.name.get("id"),
                        pick(d.name, "en"),
                        d.method,
                        d.weight,
                        s.dimensions.get(d.code),
                    ]
                )
            )
        for p in pillars:
            value = s.subpillars.get(p.code) if p.parent else s.pillars.get(p.code)
            out["pillars"].append(
                _clean([s.city_code, p.code, p.parent, p.name.get("id"), pick(p.name, "en"), value])
            )
        for lv in sorted(levels.get(s.city_code, []), key=lambda lv: lv.code):
            out["indicators"].append(
                _clean(
                    [
                        s.city_code,
                        lv.code,
                        lv.name.get("id"),
                        pick(lv.name, "en"),
                        lv.dimension,
                        lv.pillar,
                        lv.subpillar,
                        lv.weight,
                        lv.effective,
                        lv.source,
                    ]
                )
            )
    return _Rows(fw, year, out)


# ------------------------------------------------------------------------------ the files


def _csv(table: Table, rows: list[list[object]]) -> bytes:
    """UTF-8 (no BOM), comma-separated, RFC 4180 line ends; numbers as Python writes them (a dot,
    full precision: the shortest text that reads back as the same double); None as empty."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c.name for c in table.columns])
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _json(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _results(data: _Rows, license_id: str, created: str) -> dict[str, object]:
    """The same rows as the CSV files, nested per city (key names as the CSV columns)."""
    named = {
        tb.name: [dict(zip((c.name for c in tb.columns), r)) for r in data.rows[tb.name]] for tb in TABLES
    }
    per_city: dict[str, dict[str, list[dict[str, object]]]] = {}
    for tb in TABLES[1:]:
        for r in named[tb.name]:
            code = str(r.pop("city_code"))
            per_city.setdefault(code, {}).setdefault(tb.name, []).append(r)
    return {
        "year": data.year,
        "framework_id": data.fw.id,
        "license": license_id,
        "created": created,
        "cities": [
            {**c, **{tb.name: per_city.get(str(c["city_code"]), {}).get(tb.name, []) for tb in TABLES[1:]}}
            for c in named["cities"]
        ],
    }


def _both(key: str, **params: object) -> tuple[str, str]:
    return t(key, "id", **params), t(key, "en", **params)


def _described(key: str, **params: object) -> dict[str, str]:
    """title/description in Indonesian, title_en/description_en in English, from `key` and `key.help`."""
    title_id, title_en = _both(key, **params)
    desc_id, desc_en = _both(f"{key}.help", **params)
    return {"title": title_id, "description": desc_id, "title_en": title_en, "description_en": desc_en}


def _field(c: Column, fw: Framework) -> dict[str, object]:
    out: dict[str, object] = {"name": c.name, "type": c.type, **_described(f"opendata.field.{c.name}")}
    cons: dict[str, object] = {}
    if c.required:
        cons["required"] = True
    if c.scale:
        cons["minimum"], cons["maximum"] = fw.scale_min, fw.scale_max
    if c.share:
        cons["minimum"], cons["maximum"] = 0, 1
    if c.positive:
        cons["minimum"] = 1
    if c.enum:
        cons["enum"] = list(c.enum)
    if cons:
        out["constraints"] = cons
    return out


def _resource_meta(content: bytes) -> dict[str, object]:
    return {"bytes": len(content), "hash": "sha256:" + hashlib.sha256(content).hexdigest()}


def _datapackage(
    data: _Rows, files: dict[str, bytes], license_id: str, created: str, publisher: str
) -> dict[str, object]:
    fw, year = data.fw, data.year
    url, license_title = LICENSES[license_id]
    resources: list[dict[str, object]] = []
    for tb in TABLES:
        name = f"{tb.name}.csv"
        schema: dict[str, object] = {
            "fields": [_field(c, fw) for c in tb.columns],
            "primaryKey": list(tb.key),
            "missingValues": [""],
        }
        if tb.per_city:
            schema["foreignKeys"] = [
                {"fields": ["city_code"], "reference": {"resource": "cities", "fields": ["city_code"]}}
            ]
        resources.append(
            {
                "name": tb.name,
                "path": name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                **_described(f"opendata.resource.{tb.name}", year=year),
                **_resource_meta(files[name]),
                "schema": schema,
            }
        )
    resources.append(
        {
            "name": "results",
            "path": RESULTS_JSON,
            "format": "json",
            "mediatype": "application/json",
            "encoding": "utf-8",
            **_described("opendata.resource.results", year=year),
            **_resource_meta(files[RESULTS_JSON]),
        }
    )
    params = {"year": year, "framework": fw.id, "lo": fw.scale_min, "hi": fw.scale_max}
    title_id, title_en = _both("opendata.title", **params)
    desc_id, desc_en = _both("opendata.description", **params)
    return {
        "name": f"indeks-kota-cerdas-{year}",
        "title": title_id,
        "title_en": title_en,
        # both languages in the one standard field, so any reader of the package sees both
        "description": f"{desc_id}\n\n---\n\n{desc_en}",
        "description_en": desc_en,
        "created": created,
        "licenses": [{"name": license_id, "path": url, "title": license_title}],
        "contributors": [{"title": publisher, "role": "publisher"}],
        "keywords": ["smart city", "kota cerdas", "indeks", "index", str(year)],
        "generator": GENERATOR,
        "year": year,
        "framework_id": fw.id,
        "framework_name_id": fw.name.get("id"),
        "framework_name_en": pick(fw.name, "en"),
        "resources": resources,
    }


def _created(store: Storage) -> str:
    """RFC 3339 UTC time of the newest audited change of the data (publishing itself and
    downloads left out): the same data gives the same `created`. A database no audited write
    has touched is dated now."""
    raw = store.last_content_change((PUBLISH_ACTION,))
    when = datetime.fromisoformat(raw) if raw else datetime.now(UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_published(store: Storage, user: User, year: int) -> None:
    """Only published results: the administrator's publication switch, and a reader who may
    read scores while it is on (everyone, signed in or not)."""
    published = admin.public_read(store)
    if not published:
        raise CoreError("opendata.not_published", year=year)
    require(user, Action.READ_SCORES, public_read=published)


def check_license(license_id: str) -> str:
    if license_id not in LICENSES:
        raise ValidationError("opendata.license_unknown", license=license_id, allowed=", ".join(LICENSES))
    return license_id


def package_files(
    store: Storage, user: User, year: int, lang: str = DEFAULT_LANG, *, license: str = DEFAULT_LICENSE
) -> dict[str, bytes]:
    """The open-data package of a published `year` in memory: file name -> bytes (FILE_NAMES).

    Refuses (CoreError, nothing made) while results are not public or when the year has no
    results. The package is bilingual and the same in either language; `lang` is the caller's
    language, in which the refusal is shown (`exc.message(lang)`).
    """
    _check_published(store, user, year)
    check_license(license)
    data = _rows(store, year)
    created = _created(store)
    publisher = (store.get_setting(PUBLISHER_SETTING, "") or "").strip() or t("app.title", DEFAULT_LANG)
    files = {f"{tb.name}.csv": _csv(tb, data.rows[tb.name]) for tb in TABLES}
    files[RESULTS_JSON] = _json(_results(data, license, created))
    files[DATAPACKAGE] = _json(_datapackage(data, files, license, created, publisher))
    return files


def zip_name(year: int) -> str:
    return f"indeks-kota-cerdas-{year}.zip"


def package_zip(
    store: Storage, user: User, year: int, lang: str = DEFAULT_LANG, *, license: str = DEFAULT_LICENSE
) -> bytes:
    """The package as one ZIP (a folder `indeks-kota-cerdas-<year>/` with the files), for the
    public page's download; deterministic: entries in a fixed order, dated by `created`."""
    files = package_files(store, user, year, lang, license=license)
    created = json.loads(files[DATAPACKAGE])["created"]
    stamp = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in FILE_NAMES:
            info = zipfile.ZipInfo(f"indeks-kota-cerdas-{year}/{name}", date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])
    return buf.getvalue()


# ------------------------------------------------------------------------------ publish to a folder


@dataclass(frozen=True)
class Written:
    """One file of a package written: its path, size and SHA-256."""

    path: Path
    size: int
    sha256: str


def _ours(folder: Path) -> bool:
    """Whether `folder` holds a package this module wrote (its datapackage.json says so)."""
    try:
        d = json.loads((folder / DATAPACKAGE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and d.get("generator") == GENERATOR


def _check_folder(folder: Path) -> None:
    """A new or empty folder, or one holding a previous package of ours (its files are replaced;
    nothing else in it is touched). Anything else is refused before anything is written."""
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise CoreError("opendata.not_a_folder", folder=str(folder))
        if any(folder.iterdir()) and not _ours(folder):
            raise CoreError("opendata.folder_not_empty", folder=str(folder))


def _write(folder: Path, name: str, content: bytes) -> None:
    """Write through a temporary file and a rename: a reader never sees half a file, and a link
    planted at the file's name is replaced, never followed."""
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "xb") as fh:
            fh.write(content)
        os.replace(tmp, folder / name)
    finally:
        tmp.unlink(missing_ok=True)


def publish(
    store: Storage,
    user: User,
    year: int,
    folder: str | Path,
    lang: str = DEFAULT_LANG,
    *,
    license: str = DEFAULT_LICENSE,
) -> list[Written]:
    """Write the open-data package of a published `year` into `folder` (created when missing).

    The administrator's act (Action.SETTINGS: publishing for the public, like the publication
    switch); audited as `opendata.publish` with the year and every file's SHA-256, in the same
    transaction as the writes (a file that cannot be written leaves no audit row). Refused with
    nothing written while results are not public, for a year without results, or into a
    folder that is neither empty nor a previous package.
    """
    require(user, Action.SETTINGS)
    files = package_files(store, user, year, lang, license=license)
    out = Path(folder)
    _check_folder(out)
    written = [
        Written(out / name, len(files[name]), hashlib.sha256(files[name]).hexdigest()) for name in FILE_NAMES
    ]
    with store.transaction() as cur:
        try:
            out.mkdir(parents=True, exist_ok=True)
            for name in FILE_NAMES:
                _write(out, name, files[name])
        except OSError as exc:
            raise CoreError(
                "opendata.write_failed", folder=str(out), error=exc.strerror or str(exc)
            ) from None
        store.write_audit(
            cur,
            user,
            PUBLISH_ACTION,
            f"opendata:{year}",
            None,
            {
                "folder": str(out.resolve()),
                "license": license,
                "files": [{"name": w.path.name, "bytes": w.size, "sha256": w.sha256} for w in written],
            },
        )
    return written


# Entry points:
#   package_files(store, user, year, lang="id", *, license="CC-BY-4.0") -> dict[str, bytes]
#   package_zip(store, user, year, lang="id", *, license="CC-BY-4.0") -> bytes   (page download)
#   publish(store, user, year, folder, lang="id", *, license=...) -> list[Written]   (the CLI)
