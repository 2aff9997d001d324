"""The masterplan and quick-win programme register: its workbook, its checks, and every change.

The national evaluation scores a city's Outcome and Quick Win on its own programmes (the share
running per pillar), so the register is scoring input and is kept like submissions: a planner
loads it from the XLSX template or saves the in-browser editor, an OPD records the status of its
own programmes year by year, an assessor accepts or refuses a reason for stopping one, and each
of those is a new whole version of the city's register (metrics.store.programmes), written with
its audit row in one transaction. A refused file or edit changes nothing and lists every problem
with its sheet, row and column.

The workbook layout (`TEMPLATE_COLUMNS`) is the contract between `programme_template`, the reader
here and `export_programmes`: a downloaded template or export, once filled, loads unchanged.
"""

from __future__ import annotations

import hashlib
import io
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, SupportsIndex

from metrics.auth import Action, User, require
from metrics.cells import BOOLEAN_WORDS, CellError, blank, editor_value
from metrics.errors import PeriodClosed, Problem, Rejected, ValidationError
from metrics.framework import PROGRAMME_KINDS, Framework, framework_for_year
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.personal import looks_personal
from metrics.readers import DEFAULT_LIMITS, Limits, col_letter, not_a_table, open_xlsx, read_sheet, sniff
from metrics.records import (
    BUDGET_SOURCES,
    PROGRAMME_STATUSES,
    RUNNING_STATUSES,
    STOPPED_STATUS,
    Programme,
    ProgrammeBudget,
    ProgrammeStatus,
    ProgrammeVersion,
)
from metrics.reports import TableOut, table_to_csv, tables_to_xlsx
from metrics.templates import inert_text

if TYPE_CHECKING:
    from metrics.ods import OdsPackage
    from metrics.readers import XlsxPackage
    from metrics.storage import Storage

# ------------------------------------------------------------------------------------ the layout

INSTRUCTIONS_SHEET = "Petunjuk"
PROGRAMME_SHEET = "Program"
STATUS_SHEET = "Status"
BUDGET_SHEET = "Anggaran"
LISTS_SHEET = "Daftar"  # the drop-downs' lists (pillars, OPDs); not read back
# sheet -> its columns, header in row 1, one record a row from row 2
TEMPLATE_COLUMNS: dict[str, tuple[str, ...]] = {
    PROGRAMME_SHEET: ("kode", "nama", "pilar", "jenis", "opd", "tahun_mulai", "tahun_selesai", "indikator"),
    STATUS_SHEET: ("kode", "tahun", "status", "alasan", "bukti", "diterima"),
    BUDGET_SHEET: ("kode", "tahun", "sumber", "jumlah"),
}
# shown for the reader, ignored when loading: an assessor's acceptance is not the planner's to set
READ_ONLY_COLUMNS: dict[str, frozenset[str]] = {STATUS_SHEET: frozenset({"diterima"})}
DATA_SHEETS = tuple(TEMPLATE_COLUMNS)
HEADER_ROW = 1
CITY_CELL = (4, 2)  # (row, column), 1-based, on the instructions sheet: the city the file is for
TEMPLATE_ROWS = 500  # rows given drop-downs and text format beyond the pre-filled ones
# the editor's flat table: one row per programme; budgets and statuses keep their own flows
# (the XLSX for budgets, update_status for statuses), so the editor never drops them silently
EDITOR_COLUMNS: tuple[str, ...] = TEMPLATE_COLUMNS[PROGRAMME_SHEET]

MAX_CODE = 32
MAX_NAME = 300
YEAR_MIN, YEAR_MAX = 1900, 2200
MAX_AMOUNT = 10**15  # Rupiah: far above any city's whole budget
ACCEPTED_MARK = "ya"  # the `diterima` column of an accepted reason
_LIST_SPLIT = re.compile(r"[,;\s]+")
_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+|\d{1,3}(?: \d{3})+|\d+")


@dataclass(frozen=True)
class ProgrammeLoadResult:
    """A register version stored from a file or the editor."""

    version_id: int | None
    programmes: int
    problems: list[Problem] = field(default_factory=list)
    previous: int = 0  # programmes in the version it replaced


# ------------------------------------------------------------------------------- cell parsing


def _text(v: object) -> str:
    """A code or text cell as stripped text ("" when blank); a true/false cell is refused."""
    v = editor_value(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def _whole(v: object) -> int | None:
    """A whole number from an int, an integral float or digits; None when it is none of those."""
    v = editor_value(v)
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    s = str(v).strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if s.upper() in BOOLEAN_WORDS:
        raise CellError("cell.boolean")
    return None


def parse_year(v: object) -> int | None:
    """A year 1900-2200, None when blank; raises CellError("cell.year")."""
    if blank(editor_value(v)):
        return None
    y = _whole(v)
    if y is None or not YEAR_MIN <= y <= YEAR_MAX:
        raise CellError("cell.year", value=_shown(v))
    return y


def parse_amount(v: object) -> int | None:
    """Whole non-negative Rupiah, None when blank: 1500000000, 1.500.000.000 or 'Rp 1.500.000'."""
    v = editor_value(v)
    if blank(v):
        return None
    if isinstance(v, str):
        s = re.sub(r"^rp\.?\s*", "", v.strip(), flags=re.I)
        amount = int(re.sub(r"[. ]", "", s)) if _GROUPED.fullmatch(s) else None
    else:
        amount = _whole(v)
    if amount is None or not 0 <= amount < MAX_AMOUNT:
        raise CellError("programme.bad_amount", value=_shown(v))
    return amount


def parse_codes(v: object) -> tuple[str, ...]:
    """Indicator codes separated by commas, semicolons or spaces, each once, in their order."""
    return tuple(dict.fromkeys(c for c in _LIST_SPLIT.split(_text(v)) if c))


def _shown(v: object) -> str:
    v = editor_value(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)[:60]


# --------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Raw:
    """One record to check: its row number, values by field, and how a problem names each column."""

    row: int
    values: dict[str, object]
    columns: dict[str, str]


@dataclass
class _Checker:
    """Collects every problem of one file or edit, with the file's and sheet's names."""

    file: str
    city: str
    frameworks: list[tuple[Framework, int]]
    opds: set[str]
    problems: list[Problem] = field(default_factory=list)

    def add(self, key: str, sheet: str | None, raw: _Raw, fld: str, /, **params: object) -> None:
        self.problems.append(Problem(key, self.file, sheet, raw.row, raw.columns.get(fld, fld), params))

    def cell(self, sheet: str | None, raw: _Raw, fld: str, parse: Any, required: bool = True) -> Any:
        """`parse(value)`, or None with the problem recorded (also for a required blank cell)."""
        try:
            value = parse(raw.values.get(fld))
        except CellError as exc:
            self.add(exc.key, sheet, raw, fld, **exc.params)
            return None
        if required and (value is None or value == ""):
            self.add("cell.required", sheet, raw, fld)
            return None
        return value

    def text(self, sheet: str | None, raw: _Raw, fld: str, limit: int, required: bool = True) -> str | None:
        value: str | None = self.cell(sheet, raw, fld, _text, required)
        if value and len(value) > limit:
            self.add("cell.text_too_long", sheet, raw, fld, n=len(value), limit=limit)
            return None
        if value and looks_personal(value):
            self.add("file.personal_data", sheet, raw, fld)
            return None
        return value or None

    def frameworks_in(self, start: int, end: int) -> list[tuple[Framework, int]]:
        """The distinct frameworks in force over start..end, each with the first year it applies."""
        seen: dict[int, tuple[Framework, int]] = {}
        for year in range(start, end + 1):
            fw = framework_for_year(self.frameworks, year)
            if fw is not None and id(fw) not in seen:
                seen[id(fw)] = (fw, year)
        return list(seen.values())


def _pillar_codes(fw: Framework) -> set[str]:
    return {p.code for p in fw.pillars} | {s.code for s in fw.subpillars}


def _check_programmes(ck: _Checker, raws: Iterable[_Raw], sheet: str | None) -> dict[str, Programme]:
    """The programme rows that pass every check, by code (problems recorded for the others)."""
    first_row: dict[str, int] = {}
    out: dict[str, Programme] = {}
    for raw in raws:
        code = ck.text(sheet, raw, "kode", MAX_CODE)
        if code is not None:
            if code in first_row:
                ck.add("cell.duplicate_row", sheet, raw, "kode", what=code, first=first_row[code])
                code = None
            else:
                first_row[code] = raw.row
        name = ck.text(sheet, raw, "nama", MAX_NAME)
        pillar = ck.text(sheet, raw, "pilar", MAX_CODE)
        kind = ck.text(sheet, raw, "jenis", MAX_CODE)
        if kind is not None and kind.lower() not in PROGRAMME_KINDS:
            ck.add("programme.bad_kind", sheet, raw, "jenis", value=kind, choices=", ".join(PROGRAMME_KINDS))
            kind = None
        opd = ck.text(sheet, raw, "opd", MAX_CODE)
        if opd is not None and opd not in ck.opds:
            ck.add("cell.unknown_opd", sheet, raw, "opd", value=opd, city=ck.city)
            opd = None
        start = ck.cell(sheet, raw, "tahun_mulai", parse_year)
        end = ck.cell(sheet, raw, "tahun_selesai", parse_year)
        if start is not None and end is not None and start > end:
            ck.add("programme.span", sheet, raw, "tahun_selesai", start=start, end=end)
            start = end = None
        indicators: tuple[str, ...] | None = ck.cell(sheet, raw, "indikator", parse_codes, required=False)
        ok_span = start is not None and end is not None
        if ok_span:
            fws = ck.frameworks_in(start, end)
            if not fws:
                ck.add("programme.no_framework", sheet, raw, "tahun_mulai", start=start, end=end)
                ok_span = False
            if fws and pillar is not None:
                bad = next(((fw, y) for fw, y in fws if pillar not in _pillar_codes(fw)), None)
                if bad is not None:
                    ck.add(
                        "programme.unknown_pillar",
                        sheet,
                        raw,
                        "pilar",
                        value=pillar,
                        framework=bad[0].id,
                        year=bad[1],
                    )
                    pillar = None
            known = {i.code for fw, _y in fws for i in fw.indicators}
            for code_i in indicators or ():
                if fws and code_i not in known:
                    ck.add(
                        "programme.unknown_indicator",
                        sheet,
                        raw,
                        "indikator",
                        value=code_i,
                        start=start,
                        end=end,
                    )
                    indicators = None
                    break
        if code and name and pillar and kind and opd and ok_span and indicators is not None:
            out[code] = Programme(
                code=code,
                name=name,
                pillar=pillar,
                kind=kind.lower(),
                opd_code=opd,
                start_year=int(start),
                end_year=int(end),
                indicator_codes=indicators,
                source_row=raw.row,
            )
    # a code that failed another check is still a known code for the Status and Anggaran rows
    for code in first_row:
        out.setdefault(code, _UNCHECKED)
    return out


# a programme row with a problem: its Status/Anggaran rows are checked without its span
_UNCHECKED = Programme("", "", "", "", "", 0, 0)


def _in_span(ck: _Checker, sheet: str | None, raw: _Raw, year: int | None, prog: Programme) -> bool:
    if year is None or prog is _UNCHECKED:
        return year is not None
    if not prog.start_year <= year <= prog.end_year:
        ck.add(
            "programme.outside_span", sheet, raw, "tahun", year=year, start=prog.start_year, end=prog.end_year
        )
        return False
    return True


def _known(ck: _Checker, sheet: str | None, raw: _Raw, progs: Mapping[str, Programme]) -> str | None:
    code = ck.text(sheet, raw, "kode", MAX_CODE)
    if code is not None and code not in progs:
        ck.add("programme.unknown_code", sheet, raw, "kode", value=code, sheet=PROGRAMME_SHEET)
        return None
    return code


def _check_statuses(
    ck: _Checker, raws: Iterable[_Raw], sheet: str | None, progs: Mapping[str, Programme]
) -> dict[str, list[ProgrammeStatus]]:
    first_row: dict[tuple[str, int], int] = {}
    out: dict[str, list[ProgrammeStatus]] = {}
    for raw in raws:
        code = _known(ck, sheet, raw, progs)
        year = ck.cell(sheet, raw, "tahun", parse_year)
        status = ck.text(sheet, raw, "status", MAX_CODE)
        if status is not None and status.lower() not in PROGRAMME_STATUSES:
            ck.add(
                "programme.bad_status",
                sheet,
                raw,
                "status",
                value=status,
                choices=", ".join(PROGRAMME_STATUSES),
            )
            status = None
        reason = ck.text(sheet, raw, "alasan", DEFAULT_LIMITS.max_text, required=False)
        evidence = ck.text(sheet, raw, "bukti", DEFAULT_LIMITS.max_text, required=False)
        if status is not None:
            status = status.lower()
            if status == STOPPED_STATUS and reason is None and not blank(_safe_text(raw, "alasan")):
                status = None  # the reason itself has a problem already
            elif status == STOPPED_STATUS and reason is None:
                ck.add("programme.reason_required", sheet, raw, "alasan")
                status = None
            elif status != STOPPED_STATUS and reason is not None:
                ck.add("programme.reason_not_stopped", sheet, raw, "alasan", status=status)
                status = None
        if code is None or year is None:
            continue
        if (code, year) in first_row:
            what = f"{code} {year}"
            ck.add("cell.duplicate_row", sheet, raw, "tahun", what=what, first=first_row[(code, year)])
            continue
        first_row[(code, year)] = raw.row
        if _in_span(ck, sheet, raw, year, progs[code]) and status is not None:
            out.setdefault(code, []).append(ProgrammeStatus(year, status, reason, False, evidence))
    return out


def _safe_text(raw: _Raw, fld: str) -> object:
    try:
        return _text(raw.values.get(fld))
    except CellError:
        return "?"


def _check_budgets(
    ck: _Checker, raws: Iterable[_Raw], sheet: str | None, progs: Mapping[str, Programme]
) -> dict[str, list[ProgrammeBudget]]:
    first_row: dict[tuple[str, int, str], int] = {}
    out: dict[str, list[ProgrammeBudget]] = {}
    sources = {s.lower(): s for s in BUDGET_SOURCES}
    for raw in raws:
        code = _known(ck, sheet, raw, progs)
        year = ck.cell(sheet, raw, "tahun", parse_year)
        source = ck.text(sheet, raw, "sumber", MAX_CODE)
        if source is not None and source.lower() not in sources:
            ck.add(
                "programme.bad_source", sheet, raw, "sumber", value=source, choices=", ".join(BUDGET_SOURCES)
            )
            source = None
        amount = ck.cell(sheet, raw, "jumlah", parse_amount)
        if code is None or year is None or source is None:
            continue
        source = sources[source.lower()]
        key = (code, year, source)
        if key in first_row:
            ck.add(
                "cell.duplicate_row",
                sheet,
                raw,
                "sumber",
                what=f"{code} {year} {source}",
                first=first_row[key],
            )
            continue
        first_row[key] = raw.row
        if _in_span(ck, sheet, raw, year, progs[code]) and amount is not None:
            out.setdefault(code, []).append(ProgrammeBudget(year, source, amount))
    return out


def _assemble(
    progs: Mapping[str, Programme],
    statuses: Mapping[str, list[ProgrammeStatus]],
    budgets: Mapping[str, list[ProgrammeBudget]],
) -> list[Programme]:
    return [
        replace(
            p,
            statuses=tuple(sorted(statuses.get(code, ()), key=lambda s: s.year)),
            budgets=tuple(sorted(budgets.get(code, ()), key=lambda b: (b.year, b.source))),
        )
        for code, p in sorted(progs.items())
        if p is not _UNCHECKED
    ]


def _carry_over(previous: Sequence[Programme], new: Sequence[Programme], user: User) -> list[Programme]:
    """Keep, from the version in force, who last set each unchanged status and when, and an
    assessor's acceptance of a reason for stopping that is still the same reason; a status that
    changed is stamped with `user` now."""
    now = _now()
    before = {(p.code, s.year): s for p in previous for s in p.statuses}
    out = []
    for p in new:
        kept = []
        for s in p.statuses:
            old = before.get((p.code, s.year))
            same_reason = (
                old is not None and old.status == s.status == STOPPED_STATUS and old.reason == s.reason
            )
            if old is not None and (old.status, old.reason, old.evidence) == (s.status, s.reason, s.evidence):
                kept.append(old)
            else:
                judged = same_reason and old is not None
                kept.append(
                    replace(
                        s,
                        reason_accepted=bool(judged and old is not None and old.reason_accepted),
                        reason_decided=bool(judged and old is not None and old.reason_decided),
                        updated_by=user.username,
                        updated_at=now,
                    )
                )
        out.append(replace(p, statuses=tuple(kept)))
    return out


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the store keeps times


def _checker(store: Storage, city: str, file: str) -> _Checker:
    if city not in store.city_codes():
        raise ValidationError("cell.unknown_city", value=city)
    opds = {o.opd_code for o in store.opds(city)}
    return _Checker(file, city, loaded_frameworks(store), opds)


# ----------------------------------------------------------------------------- reading the file


def _sheet_raws(
    pkg: XlsxPackage | OdsPackage, sheet: str, file: str, problems: list[Problem], limits: Limits
) -> list[_Raw]:
    """The records of one data sheet; structural problems (header) and cell problems (formulas,
    errors, merged cells, values beyond the last column) go to `problems`."""
    rows, special, merged = read_sheet(pkg, sheet, limits)
    expected = TEMPLATE_COLUMNS[sheet]
    header = [str(_safe_header(v)) for v in (rows[0] if rows else [])]
    while header and header[-1] == "":
        header.pop()
    required = [c for c in expected if c not in READ_ONLY_COLUMNS.get(sheet, ())]
    bad_header = False
    for i, name in enumerate(expected):
        found = header[i] if i < len(header) else ""
        if found.lower() != name and not (name not in required and found == "" and i >= len(header)):
            problems.append(
                Problem(
                    "xlsx.header", file, sheet, HEADER_ROW, col_letter(i), {"expected": name, "found": found}
                )
            )
            bad_header = True
    for i in range(len(expected), len(header)):
        problems.append(
            Problem(
                "xlsx.stray_cell",
                file,
                sheet,
                HEADER_ROW,
                col_letter(i),
                {"last": col_letter(len(expected) - 1)},
            )
        )
        bad_header = True
    for (r_special, c0), (what, value) in sorted(special.items()):
        key = "xlsx.formula" if what == "formula" else "xlsx.error_cell"
        problems.append(
            Problem(
                key, file, sheet, r_special, col_letter(c0), {} if what == "formula" else {"value": value}
            )
        )
    for (r0, c0), (r1, c1) in merged:
        ref = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
        problems.append(Problem("xlsx.merged", file, sheet, r0 + 1, col_letter(c0), {"ref": ref}))
    if bad_header:
        return []
    width = len(expected)
    columns = {name: col_letter(i) for i, name in enumerate(expected)}
    raws = []
    for r1 in range(HEADER_ROW + 1, len(rows) + 1):
        row = rows[r1 - 1]
        for c0 in range(width, len(row)):
            if row[c0] not in ("", None):
                problems.append(
                    Problem(
                        "xlsx.stray_cell", file, sheet, r1, col_letter(c0), {"last": col_letter(width - 1)}
                    )
                )
                break
        if (r1, 0) in special or any((r1, c) in special for c in range(width)):
            continue  # a formula or error cell: reported above, not read as a value
        values = {name: (row[i] if i < len(row) else None) for i, name in enumerate(expected)}
        if all(v in ("", None) for v in values.values()):
            continue
        raws.append(_Raw(r1, {k: (None if v == "" else v) for k, v in values.items()}, columns))
    return raws


def _safe_header(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return str(v).strip()


def _city_of_file(pkg: XlsxPackage | OdsPackage, limits: Limits) -> str | None:
    """The city code our template wrote on its instructions sheet (None: no such sheet or cell)."""
    if INSTRUCTIONS_SHEET not in pkg.sheets:
        return None
    rows, _special, _merged = read_sheet(pkg, INSTRUCTIONS_SHEET, limits)
    r, c = CITY_CELL
    if len(rows) >= r and len(rows[r - 1]) >= c:
        try:
            return _text(rows[r - 1][c - 1]) or None
        except CellError:
            return None
    return None


def parse_programmes_file(
    store: Storage, city: str, data: bytes, file: str, limits: Limits = DEFAULT_LIMITS
) -> list[Programme]:
    """The register in a workbook, every cell checked; raises Rejected with every problem."""
    kind = sniff(data)
    if kind not in ("xlsx", "ods"):
        if kind == "csv" and data.strip():
            raise Rejected([Problem("programme.not_workbook", file)])
        raise not_a_table(data, file)
    if kind == "ods":
        from metrics.ods import open_ods

        pkg: XlsxPackage | OdsPackage = open_ods(data, file, limits)
    else:
        pkg = open_xlsx(data, file, limits)
    problems = [Problem("xlsx.hidden_sheet", file, name, params={"name": name}) for name in pkg.hidden]
    missing_sheets = [s for s in DATA_SHEETS if s not in pkg.sheets]
    problems += [Problem("xlsx.no_sheet", file, params={"sheet": s}) for s in missing_sheets]
    if problems:
        raise Rejected(problems)
    ck = _checker(store, city, file)
    found = _city_of_file(pkg, limits)
    if found is not None and found != city:
        r, c = CITY_CELL
        ck.problems.append(
            Problem(
                "programme.wrong_city",
                file,
                INSTRUCTIONS_SHEET,
                r,
                col_letter(c - 1),
                {"found": found, "city": city},
            )
        )
    sheet_raws = {s: _sheet_raws(pkg, s, file, ck.problems, limits) for s in DATA_SHEETS}
    progs = _check_programmes(ck, sheet_raws[PROGRAMME_SHEET], PROGRAMME_SHEET)
    statuses = _check_statuses(ck, sheet_raws[STATUS_SHEET], STATUS_SHEET, progs)
    budgets = _check_budgets(ck, sheet_raws[BUDGET_SHEET], BUDGET_SHEET, progs)
    if not progs and not ck.problems:
        ck.problems.append(Problem("programme.empty", file, PROGRAMME_SHEET))
    if ck.problems:
        raise Rejected(ck.problems)
    return _assemble(progs, statuses, budgets)


# --------------------------------------------------------------------------------------- writes


def year_footprint(programmes: Sequence[Programme], year: int) -> list[tuple[object, ...]]:
    """What the programmes method counts of a register in `year`: each programme planned that
    year with its kind, pillar, status and whether a stop reason was accepted."""
    out: list[tuple[object, ...]] = []
    for p in programmes:
        if p.start_year <= year <= p.end_year:
            st = p.status_in(year)
            out.append((p.code, p.kind, p.pillar, st.status if st else None, bool(st and st.reason_accepted)))
    return sorted(out, key=repr)


def _store_version(
    store: Storage,
    user: User,
    city: str,
    programmes: list[Programme],
    *,
    change: str,
    action: str,
    file_name: str | None = None,
    data: bytes | None = None,
    source: str | None = None,
) -> ProgrammeLoadResult:
    sha = hashlib.sha256(data).hexdigest() if data is not None else None
    with store.transaction() as cur:
        previous = store.programmes_in_force(city, cur)
        prev_vid = store.programme_version_id(city, cur)
        programmes = _carry_over(previous, programmes, user)
        for (_, year), status in sorted(store.period_statuses(cur, [city]).items()):
            # a locked year's result is final: a new register may not change what that year counts
            if status == "locked" and year_footprint(previous, year) != year_footprint(programmes, year):
                raise PeriodClosed("period.locked", city=city, year=year)
        if data is not None and sha is not None and file_name is not None:
            store.keep_files(cur, [(sha, file_name, data)])
        vid = store.insert_programme_version(cur, city, programmes, user.username, change, file_name, sha)
        after: dict[str, object] = {"version": vid, "programmes": len(programmes)}
        after.update({k: v for k, v in (("file", file_name), ("sha256", sha), ("source", source)) if v})
        store.write_audit(
            cur,
            user,
            action,
            f"programmes:{city}",
            {"version": prev_vid, "programmes": len(previous)} if prev_vid is not None else None,
            after,
        )
    return ProgrammeLoadResult(vid, len(programmes), [], len(previous))


def load_programmes_file(
    store: Storage, user: User, city: str, data: bytes, file_name: str, *, source: str = "upload"
) -> ProgrammeLoadResult:
    """Load the city's register from a filled template (a new version); raises Rejected with
    every problem, changing nothing. `source`: "upload" (the page) or "cli", for the audit row."""
    require(user, Action.MANAGE_PROGRAMMES, city)
    programmes = parse_programmes_file(store, city, data, file_name)
    return _store_version(
        store,
        user,
        city,
        programmes,
        change="load",
        action="programme.load",
        file_name=file_name,
        data=data,
        source=source,
    )


def editor_rows(store: Storage, user: User, city: str) -> list[dict[str, object]]:
    """The register in force as the editor's rows (EDITOR_COLUMNS; indicators comma-separated)."""
    require(user, Action.MANAGE_PROGRAMMES, city)
    return [
        {
            "kode": p.code,
            "nama": p.name,
            "pilar": p.pillar,
            "jenis": p.kind,
            "opd": p.opd_code,
            "tahun_mulai": p.start_year,
            "tahun_selesai": p.end_year,
            "indikator": ", ".join(p.indicator_codes),
        }
        for p in store.programmes_in_force(city)
    ]


def save_programmes(
    store: Storage, user: User, city: str, rows: list[dict[str, object]]
) -> ProgrammeLoadResult:
    """The editor's save: the rows are the whole list of programmes (a row left out is a
    programme removed). Each kept programme keeps its budgets and statuses; a span that no
    longer covers one of them is refused (change those through the XLSX template). Problems
    name the row (1-based, in the editor's order) and the column's field; raises Rejected."""
    require(user, Action.MANAGE_PROGRAMMES, city)
    ck = _checker(store, city, "")
    columns = {c: c for c in EDITOR_COLUMNS}
    raws = [
        _Raw(n, {c: row.get(c) for c in EDITOR_COLUMNS}, columns)
        for n, row in enumerate(rows, start=1)
        if not all(blank(editor_value(row.get(c))) for c in EDITOR_COLUMNS)
    ]
    progs = _check_programmes(ck, raws, None)
    previous = {p.code: p for p in store.programmes_in_force(city)}
    by_code = {_safe_text(r, "kode"): r for r in raws}
    checked: dict[str, Programme] = {}
    for code, p in progs.items():
        if p is _UNCHECKED:
            continue
        old = previous.get(code)
        if old is not None:
            raw = by_code.get(code) or raws[0]
            kept = [(s.year, "status") for s in old.statuses] + [(b.year, "budget") for b in old.budgets]
            lost = sorted({(y, w) for y, w in kept if not p.start_year <= y <= p.end_year})
            if lost:
                year, what = lost[0]
                fld = "tahun_mulai" if year < p.start_year else "tahun_selesai"
                key = f"programme.span_drops_{what}"
                ck.add(key, None, raw, fld, start=p.start_year, end=p.end_year, year=year)
                continue
            p = replace(p, statuses=old.statuses, budgets=old.budgets)
        checked[code] = p
    if not raws and not ck.problems:
        ck.problems.append(Problem("programme.empty", ""))
    if ck.problems:
        raise Rejected(ck.problems)
    return _store_version(
        store, user, city, [checked[c] for c in sorted(checked)], change="edit", action="programme.edit"
    )


def _find(programmes: Sequence[Programme], code: str) -> Programme:
    p = next((p for p in programmes if p.code == code), None)
    if p is None:
        raise ValidationError("programme.not_found", value=code)
    return p


def _check_year(year: object, p: Programme) -> int:
    y = operator.index(year) if isinstance(year, SupportsIndex) and not isinstance(year, bool) else None
    if y is None or not YEAR_MIN <= y <= YEAR_MAX:
        raise ValidationError("cell.year", value=year)
    if not p.start_year <= y <= p.end_year:
        raise ValidationError("programme.outside_span", year=y, start=p.start_year, end=p.end_year)
    return int(y)


def _check_api_text(value: str | None, limit: int) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > limit:
        raise ValidationError("cell.text_too_long", n=len(value), limit=limit)
    if value is not None and looks_personal(value):
        raise ValidationError("file.personal_data")
    return value


def _status_dict(s: ProgrammeStatus | None) -> dict[str, object] | None:
    if s is None:
        return None
    return {"status": s.status, "reason": s.reason, "accepted": s.reason_accepted, "evidence": s.evidence}


def _with_status(programmes: Sequence[Programme], code: str, status: ProgrammeStatus) -> list[Programme]:
    out = []
    for p in programmes:
        if p.code == code:
            kept = [s for s in p.statuses if s.year != status.year]
            p = replace(p, statuses=tuple(sorted([*kept, status], key=lambda s: s.year)))
        out.append(p)
    return out


def _scope_opd(user: User) -> str | None:
    """The OPD to name in a city-level check: an OPD operator acts within its own OPD only."""
    return user.opd_code if user.role == "opd" else None


def update_status(
    store: Storage,
    user: User,
    city: str,
    programme_code: str,
    year: int,
    status: str,
    reason: str | None = None,
    evidence: str | None = None,
) -> int:
    """Record a programme's status in a year (a new register version; its id is returned).

    An OPD operator may update only the programmes its OPD owns. `dihentikan` needs a reason; a
    reason given with another status is refused. A reason already accepted by an assessor stays
    accepted if it is unchanged. A locked year refuses.
    """
    require(user, Action.UPDATE_PROGRAMME, city, _scope_opd(user))
    status = (status or "").strip().lower()
    if status not in PROGRAMME_STATUSES:
        raise ValidationError("programme.bad_status", value=status, choices=", ".join(PROGRAMME_STATUSES))
    reason = _check_api_text(reason, DEFAULT_LIMITS.max_text)
    evidence = _check_api_text(evidence, DEFAULT_LIMITS.max_text)
    if status == STOPPED_STATUS and reason is None:
        raise ValidationError("programme.reason_required")
    if status != STOPPED_STATUS and reason is not None:
        raise ValidationError("programme.reason_not_stopped", status=status)
    with store.transaction() as cur:
        programmes = store.programmes_in_force(city, cur)
        p = _find(programmes, programme_code)
        require(user, Action.UPDATE_PROGRAMME, city, p.opd_code)
        y = _check_year(year, p)
        if store.period_status(city, y, cur) == "locked":
            raise PeriodClosed("period.locked", city=city, year=y)
        old = p.status_in(y)
        keep = old is not None and old.status == status == STOPPED_STATUS and old.reason == reason
        new = ProgrammeStatus(
            y,
            status,
            reason,
            bool(keep and old is not None and old.reason_accepted),
            evidence,
            user.username,
            _now(),
            bool(keep and old is not None and old.reason_decided),
        )
        vid = store.insert_programme_version(
            cur, city, _with_status(programmes, p.code, new), user.username, "status"
        )
        store.write_audit(
            cur,
            user,
            "programme.status",
            f"programme:{city}/{p.code}/{y}",
            _status_dict(old),
            _status_dict(new),
        )
    return vid


def decide_stop_reason(
    store: Storage, user: User, city: str, programme_code: str, year: int, accepted: bool, note: str = ""
) -> int:
    """An assessor accepts (or refuses) the reason a programme stopped in `year`: an accepted
    reason leaves the programme out of that year's count. A new register version; the note is
    kept on it."""
    require(user, Action.VERIFY, city)
    note_text = _check_api_text(note, DEFAULT_LIMITS.max_text)
    with store.transaction() as cur:
        programmes = store.programmes_in_force(city, cur)
        p = _find(programmes, programme_code)
        y = _check_year(year, p)
        old = p.status_in(y)
        if old is None or old.status != STOPPED_STATUS or not old.reason:
            raise ValidationError("programme.no_stop_reason", code=p.code, year=y)
        if store.period_status(city, y, cur) == "locked":
            raise PeriodClosed("period.locked", city=city, year=y)
        new = replace(old, reason_accepted=bool(accepted), reason_decided=True)
        vid = store.insert_programme_version(
            cur, city, _with_status(programmes, p.code, new), user.username, "reason", note=note_text
        )
        store.write_audit(
            cur,
            user,
            "programme.reason",
            f"programme:{city}/{p.code}/{y}",
            {"reason": old.reason, "accepted": old.reason_accepted},
            {"reason": old.reason, "accepted": bool(accepted), "note": note_text},
        )
    return vid


# ----------------------------------------------------------------------------------- read models


def _require_read(user: User, city: str) -> None:
    # the register is not secret from the city's own people: an OPD operator reads it whole
    require(user, Action.READ_SUBMISSIONS, city, _scope_opd(user))


def register(store: Storage, user: User, city: str) -> list[Programme]:
    """The city's register in force, by code ([] when it has none)."""
    _require_read(user, city)
    return store.programmes_in_force(city)


def programme_versions(store: Storage, user: User, city: str) -> list[ProgrammeVersion]:
    """Every version of the city's register, newest first."""
    _require_read(user, city)
    return store.programme_versions(city)


def programmes_of_version(store: Storage, user: User, city: str, version_id: int) -> list[Programme]:
    """The programmes of one earlier version of the city's register (for history)."""
    _require_read(user, city)
    if version_id not in {v.id for v in store.programme_versions(city)}:
        raise ValidationError("programme.no_version", value=version_id)
    return store.programmes_of_version(version_id)


@dataclass(frozen=True)
class BoardRow:
    """One programme planned in the year, as the board, Ringkasan and the OPD home show it."""

    code: str
    name: str
    pillar: str  # as registered (a pillar or sub-pillar code)
    top_pillar: str | None  # its top-level pillar in the year's framework (None: not in it)
    kind: str
    opd: str
    opd_name: str
    status: str  # direncanakan when none is recorded
    recorded: bool  # a status is recorded for the year
    reason: str | None
    reason_accepted: bool
    evidence: str | None
    budget: int  # Rupiah that year, every source
    stalled: bool
    reason_decided: bool = False  # an assessor judged the reason for stopping

    @property
    def reason_state(self) -> str | None:
        """A reason for stopping: pending (waiting for an assessor) | accepted | rejected; None:
        the programme did not stop that year, or gave no reason."""
        if self.status != STOPPED_STATUS or not self.reason:
            return None
        if self.reason_accepted:
            return "accepted"
        return "rejected" if self.reason_decided else "pending"

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BoardCell:
    """The programmes of one kind in one top-level pillar, in one year."""

    pillar: str
    pillar_name: str
    kind: str
    planned: int
    running: int  # berjalan or selesai
    stopped_accepted: int
    stopped_pending: int  # stopped, reason not (yet) accepted: waiting or rejected
    not_started: int  # no status, or direncanakan
    stalled: int  # not_started + stopped_pending
    budget: int
    rows: tuple[BoardRow, ...]

    @property
    def share(self) -> float | None:
        """running / (planned - stopped_accepted): the share the programmes method counts."""
        base = self.planned - self.stopped_accepted
        return self.running / base if base else None


@dataclass(frozen=True)
class ProgrammeBoard:
    city: str
    year: int
    framework_id: str | None
    cells: tuple[BoardCell, ...]  # every top-level pillar x kind of the year's framework
    unplaced: tuple[BoardRow, ...]  # planned programmes whose pillar the year's framework lacks
    versions: int  # register versions so far (0: no register)

    @property
    def rows(self) -> tuple[BoardRow, ...]:
        return tuple(r for c in self.cells for r in c.rows) + self.unplaced

    @property
    def stalled(self) -> tuple[BoardRow, ...]:
        return tuple(r for r in self.rows if r.stalled)

    @property
    def reasons(self) -> tuple[BoardRow, ...]:
        """The programmes stopped this year with a reason, those waiting for an assessor first."""
        rows = [r for r in self.rows if r.reason_state is not None]
        return tuple(sorted(rows, key=lambda r: (r.reason_state != "pending", r.code)))


def is_stalled(p: Programme, year: int) -> bool:
    """Planned in `year` and neither running nor finished, unless stopped with an accepted reason."""
    if not p.start_year <= year <= p.end_year:
        return False
    s = p.status_in(year)
    if s is None:
        return True
    if s.status in RUNNING_STATUSES:
        return False
    return not (s.status == STOPPED_STATUS and s.reason_accepted)


def _board_row(p: Programme, year: int, top: str | None, opd_names: Mapping[str, str]) -> BoardRow:
    s = p.status_in(year)
    return BoardRow(
        code=p.code,
        name=p.name,
        pillar=p.pillar,
        top_pillar=top,
        kind=p.kind,
        opd=p.opd_code,
        opd_name=opd_names.get(p.opd_code, ""),
        status=s.status if s else PROGRAMME_STATUSES[0],
        recorded=s is not None,
        reason=s.reason if s else None,
        reason_accepted=bool(s and s.reason_accepted),
        evidence=s.evidence if s else None,
        budget=sum(b.amount for b in p.budgets if b.year == year),
        stalled=is_stalled(p, year),
        reason_decided=bool(s and s.reason_decided),
    )


def _top_of(fw: Framework | None) -> dict[str, str]:
    if fw is None:
        return {}
    top = {p.code: p.code for p in fw.pillars}
    top.update({s.code: s.parent for s in fw.subpillars if s.parent})
    return top


def build_board(
    programmes: Sequence[Programme],
    fw: Framework | None,
    city: str,
    year: int,
    lang: str,
    opd_names: Mapping[str, str],
) -> ProgrammeBoard:
    """The board of `programmes` for `year` under `fw` (pure: what `board` reads, counted)."""
    top_of = _top_of(fw)
    planned = [p for p in programmes if p.start_year <= year <= p.end_year]
    rows = [_board_row(p, year, top_of.get(p.pillar), opd_names) for p in planned]
    cells = []
    for pillar in fw.pillars if fw else ():
        for kind in PROGRAMME_KINDS:
            mine = tuple(r for r in rows if r.top_pillar == pillar.code and r.kind == kind)
            stopped = [r for r in mine if r.status == STOPPED_STATUS]
            not_started = sum(r.status == PROGRAMME_STATUSES[0] for r in mine)
            pending = sum(not r.reason_accepted for r in stopped)
            cells.append(
                BoardCell(
                    pillar=pillar.code,
                    pillar_name=pick(pillar.name, lang),
                    kind=kind,
                    planned=len(mine),
                    running=sum(r.status in RUNNING_STATUSES for r in mine),
                    stopped_accepted=len(stopped) - pending,
                    stopped_pending=pending,
                    not_started=not_started,
                    stalled=sum(r.stalled for r in mine),
                    budget=sum(r.budget for r in mine),
                    rows=mine,
                )
            )
    unplaced = tuple(r for r in rows if r.top_pillar is None)
    return ProgrammeBoard(city, year, fw.id if fw else None, tuple(cells), unplaced, 0)


def board(store: Storage, user: User, city: str, year: int, lang: str = "id") -> ProgrammeBoard:
    """The programme board of a city's year: per top-level pillar of the year's framework and
    kind, the programmes planned, running, stopped (reason accepted or not), not started and
    stalled, the year's budget, and the programme rows."""
    _require_read(user, city)
    fw = framework_for_year(loaded_frameworks(store), year)
    names = {o.opd_code: o.name for o in store.opds(city)}
    b = build_board(store.programmes_in_force(city), fw, city, year, lang, names)
    return replace(b, versions=len(store.programme_versions(city)))


def stalled(store: Storage, user: User, city: str, year: int, lang: str = "id") -> list[BoardRow]:
    """The programmes stalled in `year` (what Ringkasan lists), by pillar and code."""
    b = board(store, user, city, year, lang)
    return sorted(b.stalled, key=lambda r: (r.top_pillar or "~", r.kind, r.code))


def opd_programmes(
    store: Storage, user: User, city: str, opd: str, year: int, lang: str = "id"
) -> list[BoardRow]:
    """An OPD's own programmes planned in `year`, by code (its home page's list to update)."""
    _require_read(user, city)
    fw = framework_for_year(loaded_frameworks(store), year)
    names = {o.opd_code: o.name for o in store.opds(city)}
    mine = [p for p in store.programmes_in_force(city) if p.opd_code == opd]
    return list(build_board(mine, fw, city, year, lang, names).rows)


# ---------------------------------------------------------------------------- template and export


def _register_tables(programmes: Sequence[Programme]) -> dict[str, list[list[object]]]:
    """The register as the workbook's data rows, sheet by sheet (TEMPLATE_COLUMNS order)."""
    return {
        PROGRAMME_SHEET: [
            [
                p.code,
                p.name,
                p.pillar,
                p.kind,
                p.opd_code,
                p.start_year,
                p.end_year,
                ", ".join(p.indicator_codes),
            ]
            for p in programmes
        ],
        STATUS_SHEET: [
            [p.code, s.year, s.status, s.reason, s.evidence, ACCEPTED_MARK if s.reason_accepted else None]
            for p in programmes
            for s in p.statuses
        ],
        BUDGET_SHEET: [[p.code, b.year, b.source, b.amount] for p in programmes for b in p.budgets],
    }


def _latest(frameworks: list[tuple[Framework, int]]) -> Framework | None:
    return max(frameworks, key=lambda fs: (fs[0].applies_from, fs[1]))[0] if frameworks else None


def programme_template(store: Storage, user: User, city: str, lang: str = "id") -> bytes:
    """The register workbook for `city`: pre-filled with the register in force (or empty), with
    drop-downs of the latest framework's pillars, the city's OPDs, kinds, statuses and sources."""
    require(user, Action.MANAGE_PROGRAMMES, city)
    c = next((c for c in store.cities() if c.city_code == city), None)
    if c is None:
        raise ValidationError("cell.unknown_city", value=city)
    fw = _latest(loaded_frameworks(store))
    pillars = [(p.code, pick(p.name, lang)) for p in (fw.pillars + fw.subpillars if fw else ())]
    opds = [(o.opd_code, o.name) for o in store.opds(city)]
    return _build_workbook(
        city, c.name, fw, pillars, opds, _register_tables(store.programmes_in_force(city)), lang
    )


def _build_workbook(
    city: str,
    city_name: str,
    fw: Framework | None,
    pillars: list[tuple[str, str]],
    opds: list[tuple[str, str]],
    data: dict[str, list[list[object]]],
    lang: str,
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ins = wb.active
    ins.title = INSTRUCTIONS_SHEET
    ins["A1"] = t("programme.template.title", lang)
    ins["A1"].font = Font(bold=True, size=14)
    ins["A2"] = city_name
    r, col = CITY_CELL
    ins.cell(row=r, column=col - 1, value=t("programme.template.city_code", lang)).font = Font(bold=True)
    code_cell = ins.cell(row=r, column=col, value=city)
    code_cell.number_format = "@"
    lines = t(
        "programme.template.instructions",
        lang,
        kinds=", ".join(PROGRAMME_KINDS),
        statuses=", ".join(PROGRAMME_STATUSES),
        sources=", ".join(BUDGET_SOURCES),
        framework=fw.id if fw else "-",
    ).split("\n")
    for n, line in enumerate(lines, start=r + 2):
        ins.cell(row=n, column=1, value=line)
    ins.column_dimensions["A"].width = 24
    ins.column_dimensions["B"].width = 90
    ins.protection.sheet = True

    head_fill = PatternFill("solid", fgColor="1F4E79")
    grey = PatternFill("solid", fgColor="EEEEEE")
    widths = {"nama": 40, "alasan": 40, "bukti": 40, "indikator": 20, "jumlah": 18}
    sheets = {}
    for sheet, columns in TEMPLATE_COLUMNS.items():
        ws = wb.create_sheet(sheet)
        sheets[sheet] = ws
        for i, name in enumerate(columns, start=1):
            cell = ws.cell(row=HEADER_ROW, column=i, value=name)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = head_fill
            ws.column_dimensions[get_column_letter(i)].width = widths.get(name, 14)
        rows = data.get(sheet, [])
        for n, values in enumerate(rows, start=HEADER_ROW + 1):
            for i, v in enumerate(values, start=1):
                ws.cell(row=n, column=i, value=v)
        last = HEADER_ROW + len(rows) + TEMPLATE_ROWS
        for i, name in enumerate(columns, start=1):
            if name in ("kode", "opd", "pilar"):  # text: keep leading zeros of codes
                for n in range(HEADER_ROW + 1, last + 1):
                    ws.cell(row=n, column=i).number_format = "@"
            if name in READ_ONLY_COLUMNS.get(sheet, ()):
                for n in range(HEADER_ROW + 1, HEADER_ROW + len(rows) + 1):
                    ws.cell(row=n, column=i).fill = grey
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)

    lists = wb.create_sheet(LISTS_SHEET)
    for i, head in enumerate(("pilar", "nama_pilar", "opd", "nama_opd"), start=1):
        lists.cell(row=1, column=i, value=head).font = Font(bold=True)
    for n, (code, name) in enumerate(pillars, start=2):
        lists.cell(row=n, column=1, value=code).number_format = "@"
        lists.cell(row=n, column=2, value=name)
    for n, (code, name) in enumerate(opds, start=2):
        lists.cell(row=n, column=3, value=code).number_format = "@"
        lists.cell(row=n, column=4, value=name)
    lists.column_dimensions["B"].width = 30
    lists.column_dimensions["D"].width = 40
    lists.protection.sheet = True

    def choose(sheet: str, column: str, formula: str, error: str) -> None:
        ws = sheets[sheet]
        letter = get_column_letter(TEMPLATE_COLUMNS[sheet].index(column) + 1)
        dv = DataValidation(
            type="list", formula1=formula, allow_blank=True, showErrorMessage=True, error=error
        )
        ws.add_data_validation(dv)
        dv.add(f"{letter}{HEADER_ROW + 1}:{letter}{ws.max_row + TEMPLATE_ROWS}")

    def whole(sheet: str, column: str, low: int, high: int | None) -> None:
        ws = sheets[sheet]
        letter = get_column_letter(TEMPLATE_COLUMNS[sheet].index(column) + 1)
        if high is None:
            dv = DataValidation(
                type="decimal", operator="greaterThanOrEqual", formula1=str(low), allow_blank=True
            )
        else:
            dv = DataValidation(
                type="whole", operator="between", formula1=str(low), formula2=str(high), allow_blank=True
            )
        dv.showErrorMessage = True
        ws.add_data_validation(dv)
        dv.add(f"{letter}{HEADER_ROW + 1}:{letter}{ws.max_row + TEMPLATE_ROWS}")

    bad = t("programme.template.pick", lang)
    if pillars:
        choose(PROGRAMME_SHEET, "pilar", f"{LISTS_SHEET}!$A$2:$A${len(pillars) + 1}", bad)
    if opds:
        choose(PROGRAMME_SHEET, "opd", f"{LISTS_SHEET}!$C$2:$C${len(opds) + 1}", bad)
    choose(PROGRAMME_SHEET, "jenis", '"' + ",".join(PROGRAMME_KINDS) + '"', bad)
    choose(STATUS_SHEET, "status", '"' + ",".join(PROGRAMME_STATUSES) + '"', bad)
    choose(BUDGET_SHEET, "sumber", '"' + ",".join(BUDGET_SOURCES) + '"', bad)
    for sheet, column in ((PROGRAMME_SHEET, "tahun_mulai"), (PROGRAMME_SHEET, "tahun_selesai")):
        whole(sheet, column, YEAR_MIN, YEAR_MAX)
    whole(STATUS_SHEET, "tahun", YEAR_MIN, YEAR_MAX)
    whole(BUDGET_SHEET, "tahun", YEAR_MIN, YEAR_MAX)
    whole(BUDGET_SHEET, "jumlah", 0, None)
    for ws in sheets.values():
        for row in ws.iter_rows(min_row=HEADER_ROW + 1):
            for cell in row:
                cell.protection = Protection(locked=False)
    inert_text(wb)  # the templates' rule: no text ever read as a formula
    wb.active = 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


EXPORT_FORMATS = ("xlsx", "csv")
CSV_COLUMNS = (
    "kode",
    "nama",
    "pilar",
    "jenis",
    "opd",
    "tahun",
    "status",
    "alasan",
    "diterima",
    "bukti",
    *(f"anggaran_{s.lower()}" for s in BUDGET_SOURCES),
)


def export_tables(programmes: Sequence[Programme]) -> tuple[list[TableOut], TableOut]:
    """The register as the workbook's sheets (the template's layout: an export loads back, but a
    text a spreadsheet would run as a formula keeps the apostrophe that made it inert)
    and as one CSV table of a row per programme and year of its span."""
    data = _register_tables(programmes)
    sheets = [TableOut(s, list(TEMPLATE_COLUMNS[s]), data[s]) for s in DATA_SHEETS]
    flat: list[list[object]] = []
    for p in programmes:
        for year in range(p.start_year, p.end_year + 1):
            s = p.status_in(year)
            amounts = {
                src: sum(b.amount for b in p.budgets if b.year == year and b.source == src)
                for src in BUDGET_SOURCES
            }
            flat.append(
                [
                    p.code,
                    p.name,
                    p.pillar,
                    p.kind,
                    p.opd_code,
                    year,
                    s.status if s else None,
                    s.reason if s else None,
                    ACCEPTED_MARK if s and s.reason_accepted else None,
                    s.evidence if s else None,
                    *amounts.values(),
                ]
            )
    return sheets, TableOut(PROGRAMME_SHEET, list(CSV_COLUMNS), flat)


def export_programmes(store: Storage, user: User, city: str, fmt: str = "xlsx") -> bytes:
    """The register in force as XLSX (the template's sheets) or CSV (programme x year), every
    text made inert for spreadsheet programs (metrics.reports); audited as an export."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError("programme.bad_format", value=fmt, choices=", ".join(EXPORT_FORMATS))
    require(user, Action.EXPORT, city)
    sheets, flat = export_tables(store.programmes_in_force(city))
    data = tables_to_xlsx(sheets) if fmt == "xlsx" else table_to_csv(flat)
    with store.transaction() as cur:
        store.write_audit(
            cur, user, "export", f"programmes:{city}", None, {"format": fmt, "bytes": len(data)}
        )
    return data
