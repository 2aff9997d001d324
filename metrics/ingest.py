"""Reading OPD self-assessments and service metrics into the store, strictly.

A file is parsed and validated completely before anything is written; if any cell is wrong
the whole file is refused with every problem listed by file, sheet, row and column, and the
store is untouched. An accepted file becomes one submission per city/OPD/year (per metric
too, for service metrics), kept forever; a newer submission supersedes an older one for
scoring without deleting it.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from metrics import isolation
from metrics import templates as tpl
from metrics.auth import Action, User, can, require
from metrics.cells import BOOLEAN_WORDS, CellError, blank, check_na, is_na, parse_level
from metrics.errors import PermissionDenied, Problem, Rejected, ValidationError
from metrics.framework import Framework, Indicator, framework_for_year
from metrics.loaded_frameworks import loaded_frameworks
from metrics.ods import OdsPackage, open_ods
from metrics.personal import PERSONAL_HEADERS, looks_personal, may_hold_personal
from metrics.readers import (
    DEFAULT_LIMITS,
    Limits,
    Table,
    XlsxPackage,
    col_letter,
    not_a_table,
    open_xlsx,
    read_csv,
    read_sheet,
    sniff,
    stray_cells,
)
from metrics.records import SubmissionBatch
from metrics.registry import Opd
from metrics.store import StorageFailed

if TYPE_CHECKING:
    from metrics.storage import Cursor, Storage

ASSESS_COLUMNS = ["city_code", "opd_code", "year", "indicator_code", "level", "evidence", "note"]
ASSESS_REQUIRED = ["city_code", "opd_code", "year", "indicator_code", "level"]
METRIC_COLUMNS = ["city_code", "opd_code", "metric_code", "period", "value"]
ALIASES = {
    "kode_kota": "city_code",
    "kode_opd": "opd_code",
    "tahun": "year",
    "kode_indikator": "indicator_code",
    "bukti": "evidence",
    "catatan": "note",
    "kode_metrik": "metric_code",
    "periode": "period",
    "nilai": "value",
}
PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")


class AssessmentRow(NamedTuple):
    # a named tuple, not a frozen dataclass: a national batch builds three million of these,
    # and a frozen dataclass costs several times as much to construct
    indicator_code: str
    level: int
    evidence: str | None
    note: str | None
    source_row: int | None  # None: carried over by a merge, not in the new file


class NaAnswer(NamedTuple):
    """An answer "tidak berlaku" (not applicable, issue 17): TB in the level cell, the reason in
    the row's note column (metrics.cells.is_na / check_na). Stored in assessment_na, not as a level."""

    indicator_code: str
    reason: str
    source_row: int | None  # None: carried over by a merge, not in the new file


class LinkRow(NamedTuple):
    """The https links of one answer row's "Tautan bukti" cell (issue 18): stored as evidence
    items linked to that answer when the file is stored (metrics.evidence)."""

    indicator_code: str
    urls: tuple[str, ...]
    source_row: int | None


class MetricRow(NamedTuple):
    period: str
    value: float
    source_row: int | None


@dataclass
class Submission:
    kind: str  # "assessment" | "metric"
    city_code: str
    opd_code: str
    year: int
    fw_seq: int
    metric_code: str | None = None
    rows: list[Any] = field(default_factory=list)  # AssessmentRow or MetricRow, by kind
    first_row: int = 0
    na_rows: list[NaAnswer] = field(default_factory=list)  # assessments only: "tidak berlaku" answers
    links: list[LinkRow] = field(default_factory=list)  # assessments only: the answers' evidence links


@dataclass
class IngestResult:
    file: str
    status: str  # "accepted" | "rejected"
    problems: list[Problem] = field(default_factory=list)
    submission_ids: list[int] = field(default_factory=list)
    kind: str | None = None
    delimiter: str | None = None
    rows: int = 0
    sha256: str = ""
    mode: str | None = None  # merge | replace, as chosen; None when no choice was made
    changes: dict[str, int] = field(default_factory=dict)  # kept/changed/added/dropped in the stored version
    na: int = 0  # "tidak berlaku" answers in the file (issue 17), each waiting for an assessor

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def to_dict(self, lang: str = "id") -> dict[str, object]:
        return {
            "file": self.file,
            "status": self.status,
            "kind": self.kind,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "submissions": self.submission_ids,
            "mode": self.mode,
            "changes": self.changes,
            "not_applicable": self.na,
            "errors": [
                {
                    "sheet": p.sheet,
                    "row": p.row,
                    "column": p.column,
                    "message": p.message(lang),
                    "code": p.key,
                }
                for p in self.problems
            ],
        }


@dataclass
class Context:
    """What validation needs to know about the world, loaded once per batch."""

    frameworks: list[tuple[Framework, int]]
    opds: dict[tuple[str, str], Opd]
    cities: set[str]
    # who uploads, when known before reading: a file for an OPD outside their scope is then
    # refused with one line saying whose it is, before its rows are judged one by one
    user: User | None = None
    # (city, indicator, OPD): indicators the admin assigned to an OPD outside its type (issue 15)
    assigned: frozenset[tuple[str, str, str]] = frozenset()

    def answers(self, opd: Opd, ind: Indicator) -> bool:
        """Whether `opd` answers `ind` (metrics.responsibility: by type, or by assignment)."""
        from metrics.responsibility import answers

        return answers(opd, ind, self.assigned)

    def framework(self, year: int) -> tuple[Framework, int] | None:
        fw = framework_for_year(self.frameworks, year)
        if fw is None:
            return None
        return fw, next(seq for f, seq in self.frameworks if f is fw)


# ------------------------------------------------------------------------------- cell parsing
# What is blank and what is a level are metrics.cells' rules (shared with the form and the review).


def _text(v: object) -> str:
    """A code or text cell as stripped text ("" when blank); a true/false cell is refused."""
    if v is None:
        return ""
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return repr(v)
    return str(v).strip()


def parse_int(v: object, key_not_int: str, **params: object) -> int | None:
    """A whole number (a year), None when blank; '3.5' and '3,5' are refused with `key_not_int`."""
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise CellError(key_not_int, value=v, **params)
    if blank(v):
        return None
    s = str(v).strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if s.upper() in BOOLEAN_WORDS:
        raise CellError("cell.boolean")
    raise CellError(key_not_int, value=s, **params)


def parse_number(v: object) -> float | None:
    """A service metric's value as a finite float, None when blank; raises CellError."""
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if isinstance(v, (int, float)):
        f = float(v)
    elif blank(v):
        return None
    else:
        s = str(v).strip()
        if s.upper() in BOOLEAN_WORDS:
            raise CellError("cell.boolean")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s):
            raise CellError("cell.not_number", value=s)
        f = float(s)
    if f != f or f in (float("inf"), float("-inf")):
        raise CellError("cell.not_number", value=str(v))
    return f


# ------------------------------------------------------------------------------- records


@dataclass
class Record:
    """One data row, whatever the file shape: values and where each came from."""

    row: int
    values: dict[str, object]
    columns: dict[str, str]  # field -> column label shown to the user


@dataclass
class TemplateRows:
    """A template's non-empty answer rows as columns, with the info block's city, OPD and year.

    validate() first tries these column by column; iterating gives the same Records the
    row-by-row path reads, made only when that path runs.
    """

    fixed: dict[str, object]
    labels: dict[str, str]
    rows: list[int]
    # cells as read (str, int, float, bool, None); Any: the fast path checks their types as a set
    code: list[Any]
    level: list[Any]
    evidence: list[Any]
    note: list[Any]
    link: list[Any] = field(default_factory=list)  # empty: a template made before the link column

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Record]:
        unit = {f: self.fixed[f] for f in ("city_code", "opd_code", "year")}
        for n, r1 in enumerate(self.rows):
            yield Record(
                r1,
                {
                    **unit,
                    "indicator_code": self.code[n],
                    "level": self.level[n],
                    "evidence": self.evidence[n],
                    "note": self.note[n],
                    "evidence_link": self.link[n] if self.link else "",
                },
                self.labels,
            )


Records = list[Record] | TemplateRows
# (kind, sheet, records, delimiter, the template's info block)
RecordsRead = tuple[str, str | None, Records, str | None, dict[str, object] | None]


def _records_from_table(table: Table, mapping: dict[str, int], labels: dict[str, str]) -> list[Record]:
    out = []
    for r, line in zip(table.rows, table.row_numbers):
        vals = {f: (r[i] if i < len(r) else "") for f, i in mapping.items()}
        out.append(Record(line, vals, labels))
    return out


def _canonical_header(h: str) -> str:
    k = h.strip().lower().replace(" ", "_")
    return ALIASES.get(k, k)


def _classify_header(file: str, sheet: str | None, header: list[str]) -> tuple[str, dict[str, int]]:
    canon = [_canonical_header(h) for h in header]
    problems = []
    seen: dict[str, int] = {}
    for n, c in enumerate(canon):
        if c in seen and c:
            problems.append(Problem("col.duplicate", file, sheet, 1, header[n], {"column": header[n]}))
        seen.setdefault(c, n)
    if any(c in PERSONAL_HEADERS for c in canon):
        bad = next(h for h, c in zip(header, canon) if c in PERSONAL_HEADERS)
        problems.append(Problem("file.personal_data", file, sheet, 1, bad))
    if "indicator_code" in seen:
        kind, allowed, required = "assessment", ASSESS_COLUMNS, ASSESS_REQUIRED
    elif "metric_code" in seen:
        kind, allowed, required = "metric", METRIC_COLUMNS, METRIC_COLUMNS
    else:
        raise Rejected(
            problems
            + [
                Problem(
                    "file.unknown_kind",
                    file,
                    sheet,
                    1,
                    None,
                    {"assess": ",".join(ASSESS_COLUMNS), "metric": ",".join(METRIC_COLUMNS)},
                )
            ]
        )
    for col in required:
        if col not in seen:
            problems.append(Problem("col.missing", file, sheet, 1, col, {"column": col}))
    for n, c in enumerate(canon):
        if c and c not in allowed and c not in PERSONAL_HEADERS:
            problems.append(
                Problem(
                    "col.unknown",
                    file,
                    sheet,
                    1,
                    header[n],
                    {"column": header[n], "allowed": ",".join(allowed)},
                )
            )
    if problems:
        raise Rejected(problems)
    mapping = {c: seen[c] for c in allowed if c in seen}
    return kind, mapping


def read_records(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> RecordsRead:
    """(kind, sheet, records, delimiter, fixed) from a CSV, a long-format xlsx/ods or our template.

    `fixed` carries the template's info block (city, OPD, year, framework) when present. Raises
    Rejected with every cell-level problem (formulas, personal data) found on the way.
    """
    kind, sheet, records, delimiter, fixed, cell_problems = _read_records(data, file, limits)
    if cell_problems:
        raise Rejected(cell_problems)
    return kind, sheet, records, delimiter, fixed


# A template re-saved as CSV ("Save as CSV" in Excel or LibreOffice): its info block's labels and
# its header row, whatever the delimiter. Recognised so that the operator is told to upload the
# .xlsx instead of reading an error about unknown columns.
_TEMPLATE_MARKS = (tpl.INFO_ROWS["opd_code"][1].lower(), tpl.COLUMNS[0].header.lower())


def _template_saved_as_csv(data: bytes) -> bool:
    head = data[:20_000].decode("utf-8", "replace").lower().splitlines()[: tpl.FIRST_DATA_ROW + 2]
    firsts = {re.split(r"[,;\t]", line.lstrip("\ufeff"), maxsplit=1)[0].strip().strip('"') for line in head}
    return all(m in firsts for m in _TEMPLATE_MARKS)


def _read_records(
    data: bytes, file: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[str, str | None, Records, str | None, dict[str, object] | None, list[Problem]]:
    """read_records' work, with the cell-level problems returned rather than raised.

    Structural refusals (the container, the header, hidden sheets) still stop here: nothing
    after them could be read reliably. Formula, error and merged cells and personal data are
    returned instead, so that validation runs too and one upload lists every problem at once.
    """
    kind = sniff(data)
    if kind == "csv":
        if _template_saved_as_csv(data):
            raise Rejected([Problem("file.template_as_csv", file)])
        table = read_csv(data, file, limits)
        k, mapping = _classify_header(file, None, table.header)
        labels = {f: table.header[i] for f, i in mapping.items()}
        found = _scan_personal(file, None, table.rows, table.row_numbers, table.header)
        return k, None, _records_from_table(table, mapping, labels), table.delimiter, None, found
    if kind not in ("xlsx", "ods"):
        raise not_a_table(data, file)
    # an .ods is checked by its own rules (metrics.ods) into a package that reads like an .xlsx's
    pkg = open_ods(data, file, limits) if kind == "ods" else open_xlsx(data, file, limits)
    problems = [Problem("xlsx.hidden_sheet", file, name, params={"name": name}) for name in pkg.hidden]
    if problems:
        raise Rejected(problems)
    if tpl.SHEET in pkg.sheets:
        return _template_records(pkg, file, limits)
    # A plain workbook whose first sheet is the long format, header in row 1.
    sheet = next(iter(pkg.sheets), None)
    if sheet is None:
        raise Rejected([Problem("xlsx.no_sheet", file, params={"sheet": tpl.SHEET})])
    rows, special, merged = read_sheet(pkg, sheet, limits)
    if not rows:
        raise Rejected([Problem("file.no_rows", file, sheet)])
    header = [str(h) if isinstance(h, bool) else _text(h) for h in rows[0]]  # never raise on a header cell
    while header and header[-1] == "":
        header.pop()
    k, mapping = _classify_header(file, sheet, header)
    found = _check_cells(file, sheet, special, merged, first_row=1)
    stray_cells(rows, len(header), 1, file, sheet)  # a value right of the header is never read
    body, numbers = [], []
    for n, r in enumerate(rows[1:], start=2):
        if any(v not in ("", None) for v in r):
            body.append(r)
            numbers.append(n)
    found += _scan_personal(file, sheet, body, numbers, header)
    labels = {f: f"{col_letter(i)} ({header[i]})" for f, i in mapping.items()}
    table = Table(file, sheet, header, body, numbers)
    return k, sheet, _records_from_table(table, mapping, labels), None, None, found


def _scan_personal(
    file: str, sheet: str | None, rows: list[list[object]], numbers: list[int], header: list[str]
) -> list[Problem]:
    """Cells that look like a NIK/KK number (the first 20: enough to see the pattern)."""
    # one C-level search over the whole sheet first; the cell-by-cell pass runs only on a hit
    if not may_hold_personal("\x00".join(map(str, chain.from_iterable(rows)))):
        return []
    problems = []
    for r, line in zip(rows, numbers):
        for i, v in enumerate(r):
            if looks_personal(v):
                col = header[i] if i < len(header) and sheet is None else col_letter(i)
                problems.append(Problem("file.personal_data", file, sheet, line, col))
                if len(problems) >= 20:
                    return problems
    return problems


def _check_cells(
    file: str,
    sheet: str,
    special: Mapping[tuple[int, int], tuple[str, object]],
    merged: list[tuple[tuple[int, int], tuple[int, int]]],
    first_row: int,
) -> list[Problem]:
    problems = []
    for (row, c0), (what, value) in sorted(special.items()):
        if row < first_row:
            continue
        if what == "formula":
            problems.append(Problem("xlsx.formula", file, sheet, row, col_letter(c0)))
        else:
            problems.append(Problem("xlsx.error_cell", file, sheet, row, col_letter(c0), {"value": value}))
    for (r0, c0), (r1, c1) in merged:
        if r1 + 1 >= first_row:
            ref = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
            problems.append(Problem("xlsx.merged", file, sheet, r0 + 1, col_letter(c0), {"ref": ref}))
    return problems


def _template_records(
    pkg: XlsxPackage | OdsPackage, file: str, limits: Limits
) -> tuple[str, str | None, Records, str | None, dict[str, object] | None, list[Problem]]:
    sheet = tpl.SHEET
    rows, special, merged = read_sheet(pkg, sheet, limits)
    # formulas/errors anywhere from the info block down are refused; the title rows are ours
    found = _check_cells(file, sheet, special, merged, first_row=min(r for r, _ in tpl.INFO_ROWS.values()))

    def cell(r1: int, c0: int) -> object:
        if r1 - 1 < len(rows) and c0 < len(rows[r1 - 1]):
            return rows[r1 - 1][c0]
        return ""

    problems = []
    fixed: dict[str, object] = {}
    for fld, (r, label) in tpl.INFO_ROWS.items():
        v = cell(r, 1)
        if v in ("", None):
            problems.append(Problem("xlsx.info_missing", file, sheet, r, "B", {"field": label}))
        fixed[fld] = v

    def header_problems(layout: tuple[tpl.Column, ...]) -> list[Problem]:
        out = []
        for n, col in enumerate(layout):
            raw_head = cell(tpl.HEADER_ROW, n)
            head_text = (
                str(raw_head) if isinstance(raw_head, bool) else _text(raw_head)
            )  # a TRUE header is still wrong
            if head_text != col.header:
                out.append(
                    Problem(
                        "xlsx.header",
                        file,
                        sheet,
                        tpl.HEADER_ROW,
                        col_letter(n),
                        {"expected": col.header, "found": head_text},
                    )
                )
        return out

    # the layout whose headers the workbook has: the current one, or one made before the
    # evidence-link column (it still loads, without links); a workbook matching neither is
    # told what the current layout expects
    checked = [(header_problems(layout), layout) for layout in tpl.LAYOUTS]
    header_found, layout = next(((h, lay) for h, lay in checked if not h), checked[0])
    problems += header_found
    if problems:
        raise Rejected(found + problems)
    stray_cells(rows, len(layout), tpl.HEADER_ROW, file, sheet)  # a value right of the template is never read
    idx = {c.field: n for n, c in enumerate(layout)}
    labels: dict[str, str] = {
        f: f"{col_letter(idx[f])} ({layout[idx[f]].header})"
        for f in ("indicator_code", "level", "evidence", "evidence_link", "note")
        if f in idx
    }
    labels.update({"city_code": "B (Kode Kota)", "opd_code": "B (Kode OPD)", "year": "B (Tahun)"})
    body, numbers = [], []
    for r1 in range(tpl.FIRST_DATA_ROW, len(rows) + 1):
        raw = rows[r1 - 1]
        # an empty row, counted in C; a filled indicator code already says it is not
        if (not raw or raw[0] in ("", None)) and raw.count("") + raw.count(None) == len(raw):
            continue
        body.append(raw)
        numbers.append(r1)
    found += _scan_personal(file, sheet, body, numbers, [c.header for c in layout])
    width = len(layout)  # calamine's grid is as wide as the widest row; pad should one be short
    padded = [r if len(r) >= width else r + [""] * (width - len(r)) for r in body]
    code, level, evidence, note = (
        [r[idx[f]] for r in padded] for f in ("indicator_code", "level", "evidence", "note")
    )
    link = [r[idx["evidence_link"]] for r in padded] if "evidence_link" in idx else []
    return (
        "assessment",
        sheet,
        TemplateRows(fixed, labels, numbers, code, level, evidence, note, link),
        None,
        fixed,
        found,
    )


# ------------------------------------------------------------------------------- validation

# One finding of a check: (field, message key, params). A step returns its findings; the
# caller places them (file, sheet, row, the field's column label) as Problems.
Found = tuple[str, str, dict[str, object]]
_NOTHING: tuple[Found, ...] = ()


class Unit(NamedTuple):
    """The verdict on one city/OPD(/year) combination, shared by every row that names it."""

    found: tuple[Found, ...]
    stop: bool  # its rows are not judged further (a text-free unit, or another OPD's file)
    city: str
    opd: str
    opd_obj: Opd | None
    year: int | None
    fw: Framework | None
    seq: int | None


def _key(v: object) -> tuple[type, object]:
    """A cache key that keeps 1, 1.0, True and '1' apart (they validate differently)."""
    return (type(v), v)


def check_info_block(fixed: dict[str, object], ctx: Context, file: str, sheet: str | None) -> list[Problem]:
    """A template's info block against the framework in force for its year: the framework id
    it was made for must be that one (checked once, not on every row)."""
    try:
        y = parse_int(fixed["year"], "cell.year")
    except CellError:
        y = None
    fw = ctx.framework(y) if y else None
    if fw is None:
        return []
    raw = fixed.get("framework")
    try:
        found = _text(raw)
    except CellError:  # a true/false cell is simply not the framework's id
        found = str(raw)
    if found == fw[0].id:
        return []
    return [
        Problem(
            "xlsx.framework_mismatch",
            file,
            sheet,
            tpl.INFO_ROWS["framework"][0],
            "B",
            {"found": found, "expected": fw[0].id, "year": y},
        )
    ]


def check_unit(kind: str, ctx: Context, raw_city: object, raw_opd: object, raw_year: object) -> Unit:
    """City and OPD known (and, for a self-assessment, a year with a framework); a file for an
    OPD outside the uploader's scope is one `file.other_opd` finding that stops its rows."""
    found: list[Found] = []
    try:
        city = _text(raw_city)
        opd = _text(raw_opd)
    except CellError as e:
        return Unit((("city_code", e.key, e.params),), True, "", "", None, None, None, None)
    if not city:
        found.append(("city_code", "cell.required", {}))
    elif city not in ctx.cities:
        found.append(("city_code", "cell.unknown_city", {"value": city}))
    if not opd:
        found.append(("opd_code", "cell.required", {}))
    opd_obj = ctx.opds.get((city, opd))
    if opd and city in ctx.cities and opd_obj is None:
        found.append(("opd_code", "cell.unknown_opd", {"value": opd, "city": city}))
    user = ctx.user
    if (
        opd_obj is not None
        and user is not None
        and not can(user, Action.UPLOAD, city, opd)
        and can(user, Action.UPLOAD, user.city_code, user.opd_code)
    ):
        # another OPD's file: one line for the whole unit, its rows are not judged
        own = ctx.opds.get((user.city_code or "", user.opd_code or ""))
        params: dict[str, object] = {
            "opd": opd,
            "name": opd_obj.name,
            "city": city,
            "own": f"{own.opd_code} · {own.name}" if own else (user.opd_code or "-"),
        }
        return Unit((("opd_code", "file.other_opd", params),), True, city, opd, opd_obj, None, None, None)
    year: int | None = None
    fw: Framework | None = None
    seq: int | None = None
    if kind == "assessment":
        try:
            year = parse_int(raw_year, "cell.year")
            if year is None:
                found.append(("year", "cell.required", {}))
            elif not 1900 <= year <= 2200:
                raise CellError("cell.year", value=year)
        except CellError as e:
            found.append(("year", e.key, e.params))
            year = None
        fwp = ctx.framework(year) if year else None
        if year and fwp is None:
            found.append(("year", "cell.no_framework", {"value": year}))
        if fwp:
            fw, seq = fwp
    return Unit(tuple(found), False, city, opd, opd_obj, year, fw, seq)


def check_code(
    raw: object, fw: Framework | None, opd_obj: Opd | None, opd: str, ctx: Context
) -> tuple[list[Found], str, Indicator | None]:
    """An indicator code: given, in the year's framework, and answered by the row's OPD."""
    found: list[Found] = []
    code = ""
    try:
        code = _text(raw)
    except CellError as e:
        found.append(("indicator_code", e.key, e.params))
    ind = fw.indicator(code) if fw and code else None
    if not code:
        found.append(("indicator_code", "cell.required", {}))
    elif fw and ind is None:
        found.append(("indicator_code", "cell.unknown_indicator", {"value": code, "framework": fw.id}))
    elif ind and opd_obj and not ctx.answers(opd_obj, ind):
        found.append(
            (
                "indicator_code",
                "cell.not_responsible",
                {"value": code, "opd": opd, "opd_type": opd_obj.opd_type},
            )
        )
    return found, code, ind


def check_level(raw: object, smin: int, smax: int) -> tuple[tuple[Found, ...], int | None]:
    """A level cell by the one rule (metrics.cells.parse_level): (findings, level or None if blank)."""
    try:
        return _NOTHING, parse_level(raw, smin, smax)
    except CellError as e:
        return (("level", e.key, e.params),), None


def check_text(raw: object, fld: str, max_text: int) -> tuple[str | None, tuple[Found, ...]]:
    """Evidence or a note: stripped text (None when blank), at most `max_text` characters."""
    found: tuple[Found, ...] = _NOTHING
    if type(raw) is str:
        s = raw.strip()
    else:
        try:
            s = _text(raw)
        except CellError as e:
            found, s = ((fld, e.key, e.params),), ""
    if len(s) > max_text:
        found += ((fld, "cell.text_too_long", {"n": len(s), "limit": max_text}),)
    return s or None, found


MAX_LINKS = 10  # links in one "Tautan bukti" cell: a longer list belongs in a document
_LINK_SEP = re.compile(r"[\s;]+")


def check_links(raw: object) -> tuple[tuple[Found, ...], tuple[str, ...]]:
    """A "Tautan bukti" cell: https links separated by spaces, line breaks or semicolons, each
    checked by the evidence rule (metrics.evidence.check_url); the first refusal, or the links
    in order without repeats."""
    from metrics.evidence import check_url  # the one link rule, the form's and the template's

    if blank(raw):
        return _NOTHING, ()
    if not isinstance(raw, str):
        return (("evidence_link", "cell.link_malformed", {"value": str(raw)[:80]}),), ()
    urls: dict[str, None] = {}
    for part in _LINK_SEP.split(raw.strip()):
        if not part:
            continue
        try:
            urls[check_url(part)] = None
        except ValidationError as e:
            return (("evidence_link", e.key, {"value": part[:80], **e.params}),), ()
    if len(urls) > MAX_LINKS:
        return (("evidence_link", "cell.links_too_many", {"n": len(urls), "limit": MAX_LINKS}),), ()
    return _NOTHING, tuple(urls)


def check_period(
    period: str, ctx: Context
) -> tuple[list[Found], int | None, tuple[Framework, int] | None, bool]:
    """A service metric's period, YYYY or YYYY-MM, of a year with a framework:
    (findings, year, (framework, seq) or None, whether the period is well-formed)."""
    found: list[Found] = []
    m = PERIOD_RE.match(period)
    year = int(m.group(1)) if m else None
    if not period:
        found.append(("period", "cell.required", {}))
    elif not m:
        found.append(("period", "cell.period", {"value": period}))
    fwp = ctx.framework(year) if year else None
    if year and fwp is None:
        found.append(("period", "cell.no_framework", {"value": year}))
    return found, year, fwp, m is not None


def check_metric_code(
    mcode: str, fw: Framework | None, opd_obj: Opd | None, opd: str, ctx: Context
) -> tuple[list[Found], Indicator | None]:
    """A metric code: given, scoring an indicator of the year's framework that the OPD answers."""
    ind = fw.metric_codes().get(mcode) if fw else None
    if not mcode:
        return [("metric_code", "cell.required", {})], ind
    if fw and ind is None:
        return [("metric_code", "cell.unknown_metric", {"value": mcode, "framework": fw.id})], ind
    if ind and opd_obj and not ctx.answers(opd_obj, ind):
        return [
            (
                "metric_code",
                "cell.not_responsible",
                {"value": mcode, "opd": opd, "opd_type": opd_obj.opd_type},
            )
        ], ind
    return [], ind


def check_metric_value(raw: object) -> tuple[list[Found], float | None]:
    """A service metric's value: required, a finite number (metrics.ingest.parse_number)."""
    try:
        value = parse_number(raw)
    except CellError as e:
        return [("value", e.key, e.params)], None
    if value is None:
        return [("value", "cell.required", {})], None
    return [], value


def _template_fast(
    rows: TemplateRows,
    unit: Unit,
    level_verdict: Callable[[object], tuple[tuple[Found, ...], int | None]],
    max_text: int,
) -> Submission | None:
    """The submission of a template whose every row passes, checked column by column; None when
    any row might not, and then the row-by-row path finds and reports exactly what is wrong.

    A national batch is 20,000 templates of 150 rows: checking each column with a few C-level
    set operations instead of each row in Python roughly halves the time spent validating.
    Every condition here is one the row-by-row path would also pass (tests compare the two).
    """
    _found, _stop, city, opd, opd_obj, year, fw, seq = unit
    if opd_obj is None or fw is None or year is None or seq is None:
        return None
    str_type = {str}
    if not (
        set(map(type, rows.code)) <= str_type
        and set(map(type, rows.evidence)) <= str_type
        and set(map(type, rows.note)) <= str_type
    ):
        return None
    codes = [c.strip() for c in rows.code]
    if len(set(codes)) != len(codes) or not fw.answerable(opd_obj.opd_type).keys() >= set(codes):
        return None  # a duplicate, unknown or not-answerable code
    if max(map(len, rows.evidence), default=0) > max_text or max(map(len, rows.note), default=0) > max_text:
        return None
    verdicts = {k: level_verdict(k[1]) for k in set(zip(map(type, rows.level), rows.level))}
    if any(found for found, _level in verdicts.values()):
        return None
    links: dict[int, tuple[str, ...]] = {}
    if rows.link and not set(map(type, rows.link)) <= str_type:
        return None
    if any(rows.link):  # C-level: most templates carry no link at all
        for n, raw_link in enumerate(rows.link):
            if raw_link.strip():
                found_l, links[n] = check_links(raw_link)
                if found_l:
                    return None  # the row-by-row path says where and why
    out = []
    link_rows = []
    for n, raw in enumerate(rows.level):
        level = verdicts[type(raw), raw][1]
        evidence, note = rows.evidence[n].strip() or None, rows.note[n].strip() or None
        if level is None:
            if evidence or note or n in links:
                return None  # text on an unanswered row
            continue
        out.append(AssessmentRow(codes[n], level, evidence, note, rows.rows[n]))
        if n in links:
            link_rows.append(LinkRow(codes[n], links[n], rows.rows[n]))
    if not out:
        return None
    sub = Submission("assessment", city, opd, year, seq, None, out, cast(int, out[0].source_row))
    sub.links = link_rows
    return sub


@dataclass(slots=True)
class _Rows:
    """What one validate() call gathers row by row: problems in row order, submissions per unit,
    the rows already seen (duplicates), and the level verdicts already reached."""

    kind: str
    file: str
    sheet: str | None
    ctx: Context
    max_text: int
    problems: list[Problem] = field(default_factory=list)
    subs: dict[tuple[object, ...], Submission] = field(default_factory=dict)
    seen: dict[tuple[object, ...], int] = field(default_factory=dict)
    levels: dict[tuple[object, ...], tuple[tuple[Found, ...], int | None]] = field(default_factory=dict)

    def report(self, rec: Record, found: Iterable[Found]) -> None:
        for fld, msg_key, params in found:
            self.problems.append(
                Problem(msg_key, self.file, self.sheet, rec.row, rec.columns.get(fld, fld), dict(params))
            )

    def assessment(self, rec: Record, unit: Unit) -> None:
        """One self-assessment row of a judged unit: reported, or added to its submission."""
        v = rec.values
        _f, _s, city, opd, opd_obj, year, fw, seq = unit
        # indicator codes are distinct within a file, so their check is not cached
        found, code, ind = check_code(v.get("indicator_code"), fw, opd_obj, opd, self.ctx)
        if found:
            self.report(rec, found)
        smin, smax = (fw.scale_min, fw.scale_max) if fw else (0, 4)
        raw_level = v.get("level")
        if is_na(raw_level):
            self.not_applicable(rec, unit, code, ind)
            return
        lk = (type(raw_level), raw_level, smin, smax)
        levels = self.levels
        hit = levels.get(lk)
        if hit is None:
            hit = levels[lk] = check_level(raw_level, smin, smax)
        level_found, level = hit
        if level_found:
            self.report(rec, level_found)
        max_text = self.max_text
        raw_e, raw_n = v.get("evidence"), v.get("note")
        if type(raw_e) is str and type(raw_n) is str and len(raw_e) <= max_text >= len(raw_n):
            # the usual row, decided without a call: check_text would say the same
            evidence, note = raw_e.strip() or None, raw_n.strip() or None
        else:
            evidence, found_e = check_text(raw_e, "evidence", max_text)
            note, found_n = check_text(raw_n, "note", max_text)
            if found_e or found_n:
                self.report(rec, found_e + found_n)
        urls = self.links(rec)
        if level is None and not level_found:  # blank, or only spaces
            if evidence or note or urls:
                self.report(rec, (("level", "cell.level_missing_with_text", {}),))
            return  # an unanswered row in a template is simply not answered
        key = (city, opd, year, code)
        seen = self.seen
        if key in seen:
            self.report(rec, (("indicator_code", "cell.duplicate_row", {"what": code, "first": seen[key]}),))
            return
        seen[key] = rec.row
        if level is None or fw is None or ind is None or opd_obj is None or year is None or seq is None:
            return
        sk = (city, opd, year)
        sub = self.subs.get(sk)
        if sub is None:
            sub = self.subs[sk] = Submission("assessment", city, opd, year, seq, None, [], rec.row)
        sub.rows.append(AssessmentRow(code, level, evidence, note, rec.row))
        if urls:
            sub.links.append(LinkRow(code, urls, rec.row))

    def links(self, rec: Record) -> tuple[str, ...]:
        """The row's evidence links (a template's "Tautan bukti" cell), or () when it has none;
        a refused link is reported at its cell (metrics.cells.parse_links: https only)."""
        raw = rec.values.get("evidence_link")
        if blank(raw):
            return ()
        found, urls = check_links(raw)
        if found:
            self.report(rec, found)
        return urls

    def not_applicable(self, rec: Record, unit: Unit, code: str, ind: Indicator | None) -> None:
        """A row answered "tidak berlaku" (its code already judged): allowed for the indicator and
        given a reason in the note column (metrics.cells.check_na), or reported where it fails."""
        v = rec.values
        _f, _s, city, opd, opd_obj, year, fw, seq = unit
        max_text = self.max_text
        _evidence, found_e = check_text(v.get("evidence"), "evidence", max_text)
        reason, found_n = check_text(v.get("note"), "note", max_text)
        urls = self.links(rec)
        found = list(found_e + found_n)
        # an unknown indicator is already reported; only a known one can refuse "tidak berlaku"
        for fld, err in check_na(ind.allow_na if ind is not None else True, code, reason):
            found.append((fld, err.key, err.params))
        if found:
            self.report(rec, found)
        key = (city, opd, year, code)
        if key in self.seen:
            self.report(
                rec, (("indicator_code", "cell.duplicate_row", {"what": code, "first": self.seen[key]}),)
            )
            return
        self.seen[key] = rec.row
        if (
            found
            or reason is None
            or fw is None
            or ind is None
            or opd_obj is None
            or year is None
            or seq is None
        ):
            return
        sk = (city, opd, year)
        sub = self.subs.get(sk)
        if sub is None:
            sub = self.subs[sk] = Submission("assessment", city, opd, year, seq, None, [], rec.row)
        sub.na_rows.append(NaAnswer(code, reason, rec.row))
        if urls:
            sub.links.append(LinkRow(code, urls, rec.row))

    def metric(self, rec: Record, unit: Unit) -> None:
        """One service-metric row of a judged unit: reported, or added to its submission."""
        v = rec.values
        city, opd, opd_obj = unit.city, unit.opd, unit.opd_obj
        try:
            mcode = _text(v.get("metric_code"))
            period = _text(v.get("period"))
        except CellError as e:
            self.report(rec, (("metric_code", e.key, e.params),))
            return
        found, year, fwp, well_formed = check_period(period, self.ctx)
        fw, seq = fwp if fwp else (None, None)
        found_code, ind = check_metric_code(mcode, fw, opd_obj, opd, self.ctx)
        found_value, value = check_metric_value(v.get("value"))
        if found or found_code or found_value:
            self.report(rec, found + found_code + found_value)
        key = (city, opd, mcode, period)
        if key in self.seen:
            what = f"{mcode} {period}"
            self.report(rec, (("period", "cell.duplicate_row", {"what": what, "first": self.seen[key]}),))
            return
        self.seen[key] = rec.row
        if value is None or fw is None or ind is None or opd_obj is None or not well_formed:
            return
        assert year is not None and seq is not None  # a well-formed period with a framework
        sk = (city, opd, mcode, year)
        sub = self.subs.get(sk)
        if sub is None:
            sub = self.subs[sk] = Submission("metric", city, opd, year, seq, mcode, [], rec.row)
        sub.rows.append(MetricRow(period, value, rec.row))


def validate(
    kind: str,
    file: str,
    sheet: str | None,
    records: list[Record] | TemplateRows,
    ctx: Context,
    fixed: dict[str, object] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    fast: bool = True,
) -> list[Submission]:
    """Turn records into submissions, or raise Rejected with every problem found.

    Rows of one file mostly repeat the same city, OPD, year and levels, so each distinct value
    is checked once and its verdict reused (national batches are millions of rows); problems are
    still reported for every row, in row order. A template's city, OPD and year come from its
    info block: one verdict for every row, reported once at the info block. Its rows are first
    tried column by column (`fast`; tests turn it off to compare).
    """
    run = _Rows(kind, file, sheet, ctx, limits.max_text)
    problems = run.problems
    fixed_unit: Unit | None = None
    if fixed is not None:
        problems += check_info_block(fixed, ctx, file, sheet)
        fixed_unit = check_unit(kind, ctx, fixed["city_code"], fixed["opd_code"], fixed["year"])
        if fixed_unit.found:
            info_row = {f: r for f, (r, _label) in tpl.INFO_ROWS.items()}
            for fld, msg_key, params in fixed_unit.found:
                problems.append(Problem(msg_key, file, sheet, info_row.get(fld), "B", dict(params)))
            if fixed_unit.stop:
                raise Rejected(problems)
            fixed_unit = fixed_unit._replace(found=_NOTHING)
    if (
        fast
        and fixed_unit is not None
        and isinstance(records, TemplateRows)
        and kind == "assessment"
        and not problems
    ):
        unit_fw = fixed_unit.fw
        if unit_fw is not None and fixed_unit.opd_obj is not None:
            smin, smax = unit_fw.scale_min, unit_fw.scale_max
            sub = _template_fast(
                records, fixed_unit, lambda raw: check_level(raw, smin, smax), limits.max_text
            )
            if sub is not None:
                return [sub]
    units: dict[tuple[object, ...], Unit] = {}
    other_opd_seen: set[tuple[str, str]] = set()  # long files: another OPD's unit once, at its first row
    judge = run.assessment if kind == "assessment" else run.metric
    for rec in records:
        if fixed_unit is not None:
            unit = fixed_unit
        else:
            v = rec.values
            if kind == "assessment":
                uk: tuple[object, ...] = (
                    _key(v.get("city_code")),
                    _key(v.get("opd_code")),
                    _key(v.get("year")),
                )
            else:
                uk = (_key(v.get("city_code")), _key(v.get("opd_code")))
            cached = units.get(uk)
            if cached is None:
                cached = units[uk] = check_unit(
                    kind, ctx, v.get("city_code"), v.get("opd_code"), v.get("year")
                )
            unit = cached
        found, stop = unit[0], unit[1]  # by index: this loop runs once per row of a national batch
        if found:
            if stop and any(k == "file.other_opd" for _f, k, _p in found):
                if (unit.city, unit.opd) not in other_opd_seen:
                    other_opd_seen.add((unit.city, unit.opd))
                    run.report(rec, found)
                continue
            run.report(rec, found)
        if stop:
            continue
        judge(rec, unit)
    if problems:
        raise Rejected(problems)
    if not run.subs:
        raise Rejected([Problem("file.no_rows", file, sheet)])
    return list(run.subs.values())


def parse_file(
    data: bytes, file: str, ctx: Context, limits: Limits = DEFAULT_LIMITS
) -> tuple[str, str | None, list[Submission]]:
    """Read and validate one file; returns (kind, delimiter, submissions) or raises Rejected.

    Every problem of the file comes back in one pass: cell-level problems found while reading
    (formulas, personal data) together with every row's validation problems, each row's naming
    the indicator it answers. Only structural refusals stop earlier.
    """
    kind, sheet, records, delimiter, fixed, cell_problems = _read_records(data, file, limits)
    if not records:
        raise Rejected(cell_problems + [Problem("file.no_rows", file, sheet)])
    try:
        subs = validate(kind, file, sheet, records, ctx, fixed, limits)
        row_problems: list[Problem] = []
    except Rejected as exc:
        row_problems = exc.problems
    if cell_problems or row_problems:
        if any(p.key == "file.other_opd" for p in row_problems):
            raise Rejected(
                [p for p in row_problems if p.key == "file.other_opd"]
            )  # whose it is, nothing else
        marked = {(p.sheet, p.row, _letters(p.column)) for p in cell_problems}
        # a formula cell's cached value may fail validation too: that cell is named once
        rest = [
            p
            for p in row_problems
            if (p.sheet, p.row, _letters(p.column)) not in marked or p.key == "file.no_rows"
        ]
        problems = [p for p in cell_problems + rest if p.key != "file.no_rows" or not cell_problems]
        raise Rejected(_name_indicators(problems, kind, records, ctx, fixed))
    return kind, delimiter, subs


def _letters(column: str | None) -> str:
    """A problem's column as its letters ('J (Level (0-4))' -> 'J'); a CSV header name as is."""
    return (column or "").split(" (", 1)[0]


def _name_indicators(
    problems: list[Problem], kind: str, records: Records, ctx: Context, fixed: dict[str, object] | None
) -> list[Problem]:
    """Each row problem with the code and name of the indicator its row answers (rejections only)."""
    if kind != "assessment":
        return problems
    rows = {p.row for p in problems if p.row is not None}
    if not rows:
        return problems
    names: dict[int, tuple[str, dict[str, str] | None]] = {}
    for rec in records:
        if rec.row not in rows:
            continue
        try:
            code = _text(rec.values.get("indicator_code"))
            year = parse_int(rec.values.get("year") if fixed is None else fixed.get("year"), "cell.year")
        except CellError:
            continue
        if not code:
            continue
        fwp = ctx.framework(year) if year and 1900 <= year <= 2200 else None
        ind = fwp[0].indicator(code) if fwp else None
        names[rec.row] = (code, dict(ind.name) if ind is not None else None)
    out = []
    for p in problems:
        hit = names.get(p.row) if p.row is not None else None
        out.append(replace(p, indicator=hit[0], indicator_name=hit[1]) if hit else p)
    return out


# ------------------------------------------------------------------------------- versions in force

MODES = ("merge", "replace")
CHANGE_KINDS = ("kept", "changed", "added", "dropped")

# One answer as compared with the version in force: (level, evidence, note) for an indicator,
# NaValue(reason) for an indicator answered "tidak berlaku", (value,) for a service metric's period.
AssessmentValues = tuple[int, str | None, str | None]


class NaValue(NamedTuple):
    """A "tidak berlaku" answer as compared with the version in force (a merge carries it over)."""

    reason: str


AnswerValues = AssessmentValues | NaValue | tuple[float]
# key (indicator code or period) -> its values, for one submission
Answers = dict[str, AnswerValues]
# What a version in force is kept for: (kind, city, OPD, year, metric code or None)
UnitKey = tuple[str, str, str, int, str | None]
# unit -> (id of the version in force, its answers)
InForce = dict[UnitKey, tuple[int, Answers]]


@dataclass(frozen=True)
class UnitChange:
    """One submission of a file against the version in force for its unit.

    The unit is city/OPD/year for a self-assessment (keys: indicator codes) and
    city/OPD/metric/year for a service metric (keys: periods).
    """

    kind: str
    city_code: str
    opd_code: str
    year: int
    metric_code: str | None
    in_force: int | None  # the id of the version in force, None when there is none
    kept: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    old: Answers = field(default_factory=dict)  # key -> (level, evidence, note) or (value,) in force
    new: Answers = field(default_factory=dict)  # key -> the same, from the file


@dataclass(frozen=True)
class Changes:
    """How a file compares with the versions in force of every unit it answers."""

    units: tuple[UnitChange, ...] = ()

    @property
    def drops(self) -> bool:
        """THE rule of partial uploads: a file that lacks an answer of a version in force for one
        of its units would drop it, and is not stored until merge or replace is chosen."""
        return any(u.dropped for u in self.units)

    def count(self, what: str) -> int:
        return sum(len(getattr(u, what)) for u in self.units)

    def counts(self, mode: str | None = None) -> dict[str, int]:
        """kept/changed/added/dropped in the version that `mode` stores: a merge keeps the answers
        the file lacks (counted as kept, and as `carried`), a replace drops them."""
        out = {k: self.count(k) for k in CHANGE_KINDS}
        if mode == "merge":
            out["carried"] = out["dropped"]
            out["kept"] += out["dropped"]
            out["dropped"] = 0
        return out


def _in_force(store: Storage, batch: SubmissionBatch, cur: Cursor | None = None) -> InForce:
    """unit -> (id in force, key -> values) for every unit of `batch` that has a version in force."""
    units_a = [
        (c, o, y)
        for k, c, o, y in zip(batch.kind, batch.city_code, batch.opd_code, batch.year)
        if k == "assessment"
    ]
    units_m = [
        (c, o, cast(str, m), y)  # a metric submission always has its metric code
        for k, c, o, m, y in zip(batch.kind, batch.city_code, batch.opd_code, batch.metric_code, batch.year)
        if k == "metric"
    ]
    rows_a, rows_m = store.in_force_rows(units_a, units_m, cur)
    out: InForce = {}
    for c, o, y, sid, code, level, evidence, note in rows_a:
        out.setdefault(("assessment", c, o, y, None), (sid, {}))[1][code] = (int(level), evidence, note)
    if units_a:
        for c, o, y, sid, code, reason in store.in_force_na_rows(units_a, cur):
            out.setdefault(("assessment", c, o, y, None), (sid, {}))[1][code] = NaValue(reason)
    for c, o, m, y, sid, period, value in rows_m:
        out.setdefault(("metric", c, o, y, m), (sid, {}))[1][period] = (float(value),)
    return out


def _batch_answers(batch: SubmissionBatch) -> list[Answers]:
    """Per submission of the batch: key -> values, as _in_force gives them."""
    out: list[Answers] = [{} for _ in range(len(batch))]
    for k, code, level, evidence, note in zip(
        batch.a_sub, batch.a_code, batch.a_level, batch.a_evidence, batch.a_note
    ):
        out[k][code] = (int(level), evidence, note)
    for k, code, reason in zip(batch.n_sub, batch.n_code, batch.n_reason):
        out[k][code] = NaValue(reason)
    for k, period, value in zip(batch.m_sub, batch.m_period, batch.m_value):
        out[k][period] = (float(value),)
    return out


def _unit(batch: SubmissionBatch, k: int) -> UnitKey:
    return batch.kind[k], batch.city_code[k], batch.opd_code[k], batch.year[k], batch.metric_code[k]


def compare(batch: SubmissionBatch, in_force: InForce) -> Changes:
    """Each submission of `batch` against its unit's version in force (`_in_force`)."""
    units = []
    for k, new in enumerate(_batch_answers(batch)):
        unit = _unit(batch, k)
        sid, old = in_force.get(unit, (None, {}))
        kept = tuple(x for x in new if x in old and old[x] == new[x])
        changed = tuple(x for x in new if x in old and old[x] != new[x])
        added = tuple(x for x in new if x not in old)
        dropped = tuple(sorted(x for x in old if x not in new))
        units.append(
            UnitChange(
                unit[0], unit[1], unit[2], unit[3], unit[4], sid, kept, changed, added, dropped, old, new
            )
        )
    return Changes(tuple(units))


def compare_in_force(store: Storage, batch: SubmissionBatch) -> Changes:
    """How a parsed file compares with the versions in force now (for a preview)."""
    return compare(batch, _in_force(store, batch))


def merged(batch: SubmissionBatch, changes: Changes) -> SubmissionBatch:
    """The batch with each unit's dropped answers carried over from its version in force: the
    whole new version a merge stores (carried rows have no row in the new file)."""
    out = SubmissionBatch()
    rows: list[list[AssessmentRow | MetricRow]] = [[] for _ in range(len(batch))]
    na: list[list[NaAnswer]] = [[] for _ in range(len(batch))]
    for i, k in enumerate(batch.n_sub):
        na[k].append(NaAnswer(batch.n_code[i], batch.n_reason[i], batch.n_row[i]))
    for i, k in enumerate(batch.a_sub):
        rows[k].append(
            AssessmentRow(
                batch.a_code[i], batch.a_level[i], batch.a_evidence[i], batch.a_note[i], batch.a_row[i]
            )
        )
    for i, k in enumerate(batch.m_sub):
        rows[k].append(MetricRow(batch.m_period[i], batch.m_value[i], batch.m_row[i]))
    for k, u in enumerate(changes.units):
        if u.kind == "assessment":
            for x in u.dropped:
                old = u.old[x]
                if isinstance(old, NaValue):  # a "tidak berlaku" answer is carried over as one
                    na[k].append(NaAnswer(x, old.reason, None))
                else:
                    rows[k].append(AssessmentRow(x, *cast(AssessmentValues, old), None))
        else:
            rows[k].extend(MetricRow(x, cast(tuple[float], u.old[x])[0], None) for x in u.dropped)
        first = next((r.source_row for r in [*rows[k], *na[k]] if r.source_row is not None), 0)
        # cast: a batch's fw_seq comes from its Submissions, where it is always set
        sub = Submission(
            u.kind,
            u.city_code,
            u.opd_code,
            u.year,
            cast(int, batch.fw_seq[k]),
            u.metric_code,
            rows[k],
            first,
            na[k],
        )
        out.add(sub, batch.file_name[k], batch.sha256[k])
    return out


# ------------------------------------------------------------------------------- the service


def load_context(store: Storage, user: User | None = None) -> Context:
    """What validation needs; with `user`, a file for an OPD outside their scope is named as such."""
    from metrics.responsibility import assigned_set

    return Context(loaded_frameworks(store), store.opd_map(), store.city_codes(), user, assigned_set(store))


@dataclass
class Parsed:
    """One file read and validated (in this process or a worker), waiting to be stored.

    `batch` holds its submissions as columns when the content was accepted; who uploads it and
    whether the year is still open are checked when it is stored.
    """

    result: IngestResult
    data: bytes | None = None
    batch: SubmissionBatch | None = None
    # the answers' evidence links (city, OPD, year, indicator, https links), added as evidence
    # items in the transaction that stores the batch
    links: list[tuple[str, str, int, str, tuple[str, ...]]] = field(default_factory=list)


def parse_upload(data: bytes, file: str, ctx: Context, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    """Read and validate one upload without touching the store; never raises for bad input."""
    name = Path(file).name
    sha = hashlib.sha256(data).hexdigest()
    result = IngestResult(name, "rejected", sha256=sha)
    try:
        kind, delimiter, subs = parse_file(data, name, ctx, limits)
    except Rejected as exc:
        result.problems = exc.problems
        return Parsed(result)
    result.kind, result.delimiter = kind, delimiter
    result.rows = sum(len(s.rows) + len(s.na_rows) for s in subs)
    result.na = sum(len(s.na_rows) for s in subs)
    batch = SubmissionBatch()
    for sub in subs:
        batch.add(sub, name, sha)
    links = [(s.city_code, s.opd_code, s.year, r.indicator_code, r.urls) for s in subs for r in s.links]
    return Parsed(result, data, batch, links)


def _parse_path(f: Path, ctx: Context, limits: Limits) -> Parsed:
    try:
        size = f.stat().st_size
        if size > limits.max_bytes:
            return Parsed(
                IngestResult(
                    f.name,
                    "rejected",
                    [Problem("file.too_large", f.name, params={"size": size, "limit": limits.max_bytes})],
                )
            )
        data = f.read_bytes()
    except FileNotFoundError:
        return Parsed(
            IngestResult(f.name, "rejected", [Problem("file.not_found", f.name, params={"path": str(f)})])
        )
    except OSError as exc:
        return Parsed(
            IngestResult(
                f.name,
                "rejected",
                [Problem("file.unreadable", f.name, params={"detail": exc.strerror or type(exc).__name__})],
            )
        )
    return parse_upload(data, f.name, ctx, limits)


def store_parsed(
    store: Storage,
    user: User,
    items: list[Parsed],
    source: str = "upload",
    on_accept: Callable[[Cursor, list[int]], None] | None = None,
    mode: str | None = None,
) -> None:
    """Store every accepted item of `items` in ONE transaction, with one audit row per file.

    Each file is still all-or-nothing: a file refused for permission or a closed year is left
    out whole, the others go in. Results are marked accepted only after the commit.
    A file that would drop answers from a version in force (`Changes.drops`) is stored only
    with a `mode`: "merge" stores its answers on top of the version in force, "replace" stores
    the file alone; without one it is refused with how many answers it would drop. Either way
    a new whole version is stored and the audit row says the mode and the counts.
    `on_accept(cur, submission_ids)`, if given, runs inside that transaction when anything was
    accepted, so that a caller's own bookkeeping (e.g. clearing a submitted draft) commits or
    rolls back together with the submissions.
    """
    # each item with its batch (never None here), so that the batch's type needs no check
    ready: list[tuple[Parsed, SubmissionBatch]] = []
    for it in items:
        if it.batch is None:
            continue
        try:
            for city, opd in zip(it.batch.city_code, it.batch.opd_code):
                require(user, Action.UPLOAD, city, opd)
        except PermissionDenied as exc:
            it.result.problems = [Problem(exc.key, it.result.file, params=exc.params)]
            continue
        ready.append((it, it.batch))
    if not ready:
        return
    done: list[tuple[Parsed, list[int]]] = []
    with store.transaction() as cur:
        status = store.period_statuses(cur, [c for _, b in ready for c in b.city_code])
        accepted: list[tuple[Parsed, SubmissionBatch]] = []
        for it, b in ready:
            problems = []
            for key in sorted(set(zip(b.city_code, b.year))):
                st = status.get(key, "open")
                if st in ("locked", "closed"):
                    problems.append(
                        Problem(f"period.{st}", it.result.file, params={"city": key[0], "year": key[1]})
                    )
            if problems:
                it.result.problems = problems  # nothing of this file is written
            else:
                accepted.append((it, b))
        if not accepted:
            return
        accepted = _apply_mode(store, cur, accepted, mode)
        if not accepted:
            return
        # cast: parse_upload gives the content with the batch; it is dropped only once stored
        store.keep_files(
            cur, [(it.result.sha256, it.result.file, cast(bytes, it.data)) for it, _ in accepted]
        )
        if len(accepted) == 1:
            batch = accepted[0][1]
        else:
            batch = SubmissionBatch()
            for _, b in accepted:
                batch.extend(b)
        ids = store.insert_submissions(cur, batch, user.username, None, None, source)
        entries: list[tuple[str, str, object, object]] = []
        k = 0
        for it, b in accepted:
            own = ids[k : k + len(b)]
            k += len(b)
            done.append((it, own))
            entries.append(
                (
                    "submission.create",
                    f"file:{it.result.file}",
                    None,
                    {
                        "sha256": it.result.sha256,
                        "kind": it.result.kind,
                        "mode": it.result.mode,
                        "changes": it.result.changes,
                        "submissions": [
                            {
                                "id": i,
                                "city": b.city_code[n],
                                "opd": b.opd_code[n],
                                "year": b.year[n],
                                "metric": b.metric_code[n],
                                "rows": b.n_rows[n],
                            }
                            for n, i in enumerate(own)
                        ],
                    },
                )
            )
        store.write_audit_many(cur, user, entries)
        _store_links(store, cur, user, [it for it, _ in accepted])
        if on_accept is not None:
            on_accept(cur, list(ids))
    for it, own in done:
        it.result.status = "accepted"
        it.result.submission_ids = own
        it.data = None


def _store_links(store: Storage, cur: Cursor, user: User, items: list[Parsed]) -> None:
    """The evidence links of the stored files' answers, each an evidence item of the OPD-year
    linked to its answer, written (and audited) in the files' own transaction."""
    from metrics import evidence  # evidence files are checked there; ingest only hands links over

    # one item per link and OPD-year, linked to every answer that names it
    by_link: dict[tuple[str, str, int, str], list[str]] = {}
    for it in items:
        for city, opd, year, code, urls in it.links:
            for url in urls:
                by_link.setdefault((city, opd, year, url), []).append(code)
    for (city, opd, year, url), codes in by_link.items():
        evidence.add_link_in(store, cur, user, city, opd, year, url, codes)


def _apply_mode(
    store: Storage, cur: Cursor, items: list[tuple[Parsed, SubmissionBatch]], mode: str | None
) -> list[tuple[Parsed, SubmissionBatch]]:
    """The items to store, each compared with the versions in force (read on the write's cursor)
    and merged when so chosen; those that would drop answers without a choice are refused.

    Files are taken in order: a later file of the same batch is compared with an earlier one
    for the same unit, as it will supersede it.
    """
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    combined = SubmissionBatch()
    for _, b in items:
        combined.extend(b)
    in_force = _in_force(store, combined, cur)
    out = []
    for it, b in items:
        ch = compare(b, in_force)
        if ch.drops and mode is None:
            it.result.problems = [
                Problem(
                    "file.drops_answers",
                    it.result.file,
                    params={
                        "n": ch.count("dropped"),
                        "kept": ch.count("kept") + ch.count("changed"),
                        "added": ch.count("added"),
                    },
                )
            ]
            continue
        if ch.drops and mode == "merge":
            b = it.batch = merged(b, ch)
            it.result.rows = sum(b.n_rows)
        it.result.mode = mode
        it.result.changes = ch.counts(mode)
        for k, answers in enumerate(_batch_answers(b)):
            in_force[_unit(b, k)] = (-1, answers)  # what the next file of the batch supersedes
        out.append((it, b))
    return out


def ingest_bytes(
    store: Storage,
    user: User,
    data: bytes,
    file: str,
    ctx: Context | None = None,
    limits: Limits = DEFAULT_LIMITS,
    source: str = "upload",
    mode: str | None = None,
) -> IngestResult:
    """Validate and store one file as one transaction, as `user`; never raises for bad input."""
    parsed = parse_upload(data, file, ctx or load_context(store), limits)
    store_parsed(store, user, [parsed], source, mode=mode)
    return parsed.result


# A worker process keeps the batch's context so that each task carries only a path.
_WORKER: dict[str, tuple[Context, Limits]] = {}


def _worker_init(ctx: Context, limits: Limits, owner: int) -> None:
    # the worker is the isolation: memory-capped, and it ends when the batch's process does
    isolation.enter_worker(owner)
    _WORKER["args"] = (ctx, limits)


def _worker_parse(f: Path) -> Parsed:
    return _parse_path(f, *_WORKER["args"])


def ingest_workers(n_files: int) -> int:
    """Processes that parse a batch: $SMARTCITY_INGEST_WORKERS, else one per CPU for big batches."""
    env = os.environ.get("SMARTCITY_INGEST_WORKERS")
    if env:
        return max(1, int(env))
    return 1 if n_files < 200 else max(1, os.cpu_count() or 1)


def _parse_all(files: list[Path], ctx: Context, limits: Limits, workers: int) -> Iterator[Parsed]:
    """Parsed files in the order given, from `workers` processes (reading is CPU-bound)."""
    if workers <= 1:
        for f in files:
            yield _parse_path(f, ctx, limits)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: workers never inherit this process's DuckDB threads and locks. An executor, not
    # multiprocessing.Pool: a worker that dies (or cannot start) breaks the batch with an error
    # instead of leaving it waiting forever for a result that will never come.
    mp = multiprocessing.get_context("forkserver")
    # Tasks go out in chunks: every message wakes this process's pool threads, which compete
    # with the workers for the same cores (8 files a message cost this process twice the CPU of 64).
    chunksize = max(1, min(64, len(files) // (4 * workers)))
    start = 0
    while start < len(files):
        with ProcessPoolExecutor(
            workers, mp_context=mp, initializer=_worker_init, initargs=(ctx, limits, os.getpid())
        ) as pool:
            try:
                for parsed in pool.map(_worker_parse, files[start:], chunksize=chunksize):
                    start += 1
                    yield parsed
                return
            except BrokenProcessPool:
                pass  # a file crashed its worker (or a worker was killed)
        # Every task the pool had started lies within the next `workers + 1` chunks (it starts
        # no more while the first is unfinished). Those files are read here one by one, each
        # native parse in its own isolated worker (metrics.isolation), so the file that
        # crashed is refused with its name and the others are read as usual; then a new pool
        # takes the rest.
        for f in files[start : start + chunksize * (workers + 1)]:
            start += 1
            yield _parse_path(f, ctx, limits)


# what a folder is searched for
INGEST_SUFFIXES = (".xlsx", ".ods", ".csv")


def ingest_paths(
    store: Storage,
    user: User,
    paths: list[str | Path],
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    chunk: int = 4000,
    chunk_bytes: int = 256 * 1024 * 1024,
    mode: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[IngestResult]:
    """Ingest files and folders (searched for .xlsx/.ods/.csv); each file is accepted or refused whole.

    Files are read and validated in parallel worker processes when the batch is big, then
    stored `chunk` accepted files (or `chunk_bytes` of them) per transaction: bulk inserts,
    one audit row per file, one refresh of the touched score tables. Results come back in the
    order the files were found. `mode` (merge | replace) is the choice for files that would drop
    answers from a version in force (see store_parsed). When the database cannot write (store.StorageFailed), the batch
    stops and the exception carries them as `results`: an accepted one is stored, the others not.
    `progress(done, total)`, if given, is called once the files are found and after each file is
    read (a terminal's progress bar; the core knows nothing of how it is shown).
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(
                sorted(x for x in p.rglob("*") if x.suffix.lower() in INGEST_SUFFIXES and x.is_file())
            )
        else:
            files.append(p)
    if progress is not None:
        progress(0, len(files))
    ctx = load_context(store, user)
    out: list[IngestResult] = []
    pending: list[Parsed] = []
    n_workers = ingest_workers(len(files)) if workers is None else workers
    pending_bytes = 0
    # The cyclic GC is paused for the batch: the pending files are millions of acyclic objects,
    # and every full collection walked them all again (2 s of a national batch's 35). While
    # workers parse, DuckDB gets one thread, so that it does not fight them for the cores.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with store.bulk_writes(threads=1 if n_workers > 1 else None):
            for parsed in _parse_all(files, ctx, limits, n_workers):
                out.append(parsed.result)
                if progress is not None:
                    progress(len(out), len(files))
                if parsed.batch is not None:
                    pending.append(parsed)
                    pending_bytes += len(parsed.data or b"")
                    if len(pending) >= chunk or pending_bytes >= chunk_bytes:
                        store_parsed(store, user, pending, mode=mode)
                        pending, pending_bytes = [], 0
            if pending:
                store_parsed(store, user, pending, mode=mode)
    except StorageFailed as exc:
        exc.results = out  # the accepted ones are stored, the rest not (or not read)
        raise
    finally:
        if gc_was_enabled:
            gc.enable()
    return out
