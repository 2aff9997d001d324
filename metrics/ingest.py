"""Reading OPD self-assessments and service metrics into the store, strictly.

A file is parsed and validated completely before anything is written; if any cell is wrong
the whole file is refused with every problem listed by file, sheet, row and column, and the
store is untouched. An accepted file becomes one submission per city/OPD/year (per metric
too, for service metrics), kept forever; a newer submission supersedes an older one for
scoring without deleting it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from metrics import templates as tpl
from metrics.auth import Action, User, require
from metrics.errors import PermissionDenied, Problem, Rejected
from metrics.framework import Framework, framework_for_year
from metrics.readers import DEFAULT_LIMITS, Limits, Table, col_letter, open_xlsx, read_csv, read_sheet, sniff
from metrics.registry import Opd

ASSESS_COLUMNS = ["city_code", "opd_code", "year", "indicator_code", "level", "evidence", "note"]
ASSESS_REQUIRED = ["city_code", "opd_code", "year", "indicator_code", "level"]
METRIC_COLUMNS = ["city_code", "opd_code", "metric_code", "period", "value"]
ALIASES = {
    "kode_kota": "city_code", "kode_opd": "opd_code", "tahun": "year", "kode_indikator": "indicator_code",
    "bukti": "evidence", "catatan": "note", "kode_metrik": "metric_code", "periode": "period", "nilai": "value",
}
PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")
NIK_RE = re.compile(r"(?<!\d)\d{16}(?!\d)")
PERSONAL_HEADERS = {"nik", "no_nik", "nomor_nik", "kk", "no_kk", "nomor_kk", "nkk", "no_ktp", "ktp"}


@dataclass(frozen=True)
class AssessmentRow:
    indicator_code: str
    level: int
    evidence: str | None
    note: str | None
    source_row: int


@dataclass(frozen=True)
class MetricRow:
    period: str
    value: float
    source_row: int


@dataclass
class Submission:
    kind: str  # "assessment" | "metric"
    city_code: str
    opd_code: str
    year: int
    fw_seq: int
    metric_code: str | None = None
    rows: list = field(default_factory=list)
    first_row: int = 0


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

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def to_dict(self, lang: str = "id") -> dict:
        return {
            "file": self.file,
            "status": self.status,
            "kind": self.kind,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "submissions": self.submission_ids,
            "errors": [
                {"sheet": p.sheet, "row": p.row, "column": p.column, "message": p.message(lang), "code": p.key}
                for p in self.problems
            ],
        }


@dataclass
class Context:
    """What validation needs to know about the world, loaded once per batch."""

    frameworks: list[tuple[Framework, int]]
    opds: dict[tuple[str, str], Opd]
    cities: set[str]

    def framework(self, year: int) -> tuple[Framework, int] | None:
        fw = framework_for_year(self.frameworks, year)
        if fw is None:
            return None
        return fw, next(seq for f, seq in self.frameworks if f is fw)


# ------------------------------------------------------------------------------- cell parsing


class CellError(Exception):
    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params


def _text(v: object) -> str:
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
    """Whole numbers only; '3,5' is a decimal-comma error and '3.5' is not a whole number."""
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if v is None or v == "":
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v.is_integer():
            return int(v)
        raise CellError(key_not_int, value=v, **params)
    s = str(v).strip()
    if s == "":
        return None
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if re.fullmatch(r"[+-]?\d+,\d+", s) and key_not_int == "cell.level_not_int":
        raise CellError("cell.level_decimal_comma", value=s, **params)
    if s.upper() in ("TRUE", "FALSE", "BENAR", "SALAH"):
        raise CellError("cell.boolean")
    raise CellError(key_not_int, value=s, **params)


def parse_number(v: object) -> float | None:
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        f = float(v)
    else:
        s = str(v).strip()
        if s == "":
            return None
        if s.upper() in ("TRUE", "FALSE", "BENAR", "SALAH"):
            raise CellError("cell.boolean")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s):
            raise CellError("cell.not_number", value=s)
        f = float(s)
    if f != f or f in (float("inf"), float("-inf")):
        raise CellError("cell.not_number", value=str(v))
    return f


def looks_personal(v: object) -> bool:
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, (int, float)):
        return float(v).is_integer() and 10**15 <= abs(v) < 10**16
    s = str(v)
    return len(s) >= 16 and bool(NIK_RE.search(s.replace(" ", "").replace(".", "").replace("-", "")))


# ------------------------------------------------------------------------------- records


@dataclass
class Record:
    """One data row, whatever the file shape: values and where each came from."""

    row: int
    values: dict[str, object]
    columns: dict[str, str]  # field -> column label shown to the user


def _records_from_table(table: Table, mapping: dict[str, int], labels: dict[str, str]) -> list[Record]:
    out = []
    for r, line in zip(table.rows, table.row_numbers):
        vals = {f: (r[i] if i < len(r) else "") for f, i in mapping.items()}
        out.append(Record(line, vals, labels))
    return out


def _canonical_header(h: str) -> str:
    k = h.strip().lower().replace(" ", "_")
    return ALIASES.get(k, k)


def _classify_header(file: str, sheet: str | None, header: list[str]):
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
        raise Rejected(problems + [Problem("file.unknown_kind", file, sheet, 1, None, {
            "assess": ",".join(ASSESS_COLUMNS), "metric": ",".join(METRIC_COLUMNS)})])
    for col in required:
        if col not in seen:
            problems.append(Problem("col.missing", file, sheet, 1, col, {"column": col}))
    for n, c in enumerate(canon):
        if c and c not in allowed and c not in PERSONAL_HEADERS:
            problems.append(Problem("col.unknown", file, sheet, 1, header[n],
                                    {"column": header[n], "allowed": ",".join(allowed)}))
    if problems:
        raise Rejected(problems)
    mapping = {c: seen[c] for c in allowed if c in seen}
    return kind, mapping


def read_records(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS):
    """(kind, sheet, records, delimiter, fixed) from a CSV, a long-format xlsx or our template.

    `fixed` carries the template's info block (city, OPD, year, framework) when present.
    """
    kind = sniff(data)
    if kind == "csv":
        table = read_csv(data, file, limits)
        k, mapping = _classify_header(file, None, table.header)
        labels = {f: table.header[i] for f, i in mapping.items()}
        _scan_personal(file, None, table.rows, table.row_numbers, table.header)
        return k, None, _records_from_table(table, mapping, labels), table.delimiter, None
    if kind != "xlsx":
        raise Rejected([Problem("file.unknown_type", file)])
    pkg = open_xlsx(data, file, limits)
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
    header = [_text(h) for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    k, mapping = _classify_header(file, sheet, header)
    _check_cells(file, sheet, special, merged, first_row=1)
    body, numbers = [], []
    for n, r in enumerate(rows[1:], start=2):
        if any(v not in ("", None) for v in r):
            body.append(r)
            numbers.append(n)
    _scan_personal(file, sheet, body, numbers, header)
    labels = {f: f"{col_letter(i)} ({header[i]})" for f, i in mapping.items()}
    table = Table(file, sheet, header, body, numbers)
    return k, sheet, _records_from_table(table, mapping, labels), None, None


def _scan_personal(file: str, sheet: str | None, rows: list, numbers: list[int], header: list[str]) -> None:
    problems = []
    for r, line in zip(rows, numbers):
        for i, v in enumerate(r):
            if looks_personal(v):
                col = header[i] if i < len(header) and sheet is None else col_letter(i)
                problems.append(Problem("file.personal_data", file, sheet, line, col))
                if len(problems) >= 20:
                    raise Rejected(problems)
    if problems:
        raise Rejected(problems)


def _check_cells(file: str, sheet: str, special: dict, merged: list, first_row: int) -> None:
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
    if problems:
        raise Rejected(problems)


def _template_records(pkg, file: str, limits: Limits):
    sheet = tpl.SHEET
    rows, special, merged = read_sheet(pkg, sheet, limits)
    # formulas/errors anywhere from the info block down are refused; the title rows are ours
    _check_cells(file, sheet, special, merged, first_row=min(r for r, _ in tpl.INFO_ROWS.values()))

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
    for n, col in enumerate(tpl.COLUMNS):
        found = _text(cell(tpl.HEADER_ROW, n))
        if found != col.header:
            problems.append(Problem("xlsx.header", file, sheet, tpl.HEADER_ROW, col_letter(n),
                                    {"expected": col.header, "found": found}))
    if problems:
        raise Rejected(problems)
    idx = tpl.COL_INDEX
    labels = {f: f"{col_letter(idx[f])} ({tpl.COLUMNS[idx[f]].header})"
              for f in ("indicator_code", "level", "evidence", "note")}
    labels.update({"city_code": "B (Kode Kota)", "opd_code": "B (Kode OPD)", "year": "B (Tahun)"})
    records = []
    body, numbers = [], []
    for r1 in range(tpl.FIRST_DATA_ROW, len(rows) + 1):
        raw = rows[r1 - 1]
        if not any(v not in ("", None) for v in raw):
            continue
        body.append(raw)
        numbers.append(r1)
        values = {
            "city_code": fixed["city_code"],
            "opd_code": fixed["opd_code"],
            "year": fixed["year"],
            "indicator_code": cell(r1, idx["indicator_code"]),
            "level": cell(r1, idx["level"]),
            "evidence": cell(r1, idx["evidence"]),
            "note": cell(r1, idx["note"]),
        }
        records.append(Record(r1, values, labels))
    _scan_personal(file, sheet, body, numbers, [c.header for c in tpl.COLUMNS])
    return "assessment", sheet, records, None, fixed


# ------------------------------------------------------------------------------- validation


def validate(kind: str, file: str, sheet: str | None, records: list[Record], ctx: Context,
             fixed: dict | None = None, limits: Limits = DEFAULT_LIMITS) -> list[Submission]:
    """Turn records into submissions, or raise Rejected with every problem found."""
    problems: list[Problem] = []
    subs: dict[tuple, Submission] = {}
    seen: dict[tuple, int] = {}

    def bad(rec: Record, fld: str, msg_key: str, **params: object) -> None:
        problems.append(Problem(msg_key, file, sheet, rec.row, rec.columns.get(fld, fld), params))

    if fixed is not None:
        # the template's info block is checked once, not on every row
        try:
            y = parse_int(fixed["year"], "cell.year")
        except CellError:
            y = None
        fw = ctx.framework(y) if y else None
        if fw and _text(fixed.get("framework")) != fw[0].id:
            problems.append(Problem("xlsx.framework_mismatch", file, sheet, tpl.INFO_ROWS["framework"][0], "B",
                                    {"found": _text(fixed.get("framework")), "expected": fw[0].id, "year": y}))

    for rec in records:
        v = rec.values
        try:
            city = _text(v.get("city_code"))
            opd = _text(v.get("opd_code"))
        except CellError as e:
            bad(rec, "city_code", e.key, **e.params)
            continue
        if not city:
            bad(rec, "city_code", "cell.required")
        elif city not in ctx.cities:
            bad(rec, "city_code", "cell.unknown_city", value=city)
        if not opd:
            bad(rec, "opd_code", "cell.required")
        opd_obj = ctx.opds.get((city, opd))
        if opd and city in ctx.cities and opd_obj is None:
            bad(rec, "opd_code", "cell.unknown_opd", value=opd, city=city)

        if kind == "assessment":
            try:
                year = parse_int(v.get("year"), "cell.year")
                if year is None:
                    bad(rec, "year", "cell.required")
                elif not 1900 <= year <= 2200:
                    raise CellError("cell.year", value=year)
            except CellError as e:
                bad(rec, "year", e.key, **e.params)
                year = None
            fwp = ctx.framework(year) if year else None
            if year and fwp is None:
                bad(rec, "year", "cell.no_framework", value=year)
            fw, seq = fwp if fwp else (None, None)
            code = ""
            try:
                code = _text(v.get("indicator_code"))
            except CellError as e:
                bad(rec, "indicator_code", e.key, **e.params)
            ind = fw.indicator(code) if fw and code else None
            if not code:
                bad(rec, "indicator_code", "cell.required")
            elif fw and ind is None:
                bad(rec, "indicator_code", "cell.unknown_indicator", value=code, framework=fw.id)
            elif ind and opd_obj and opd_obj.opd_type not in ind.opd_types:
                bad(rec, "indicator_code", "cell.not_responsible", value=code, opd=opd, opd_type=opd_obj.opd_type)
            smin, smax = (fw.scale_min, fw.scale_max) if fw else (0, 4)
            level = None
            try:
                level = parse_int(v.get("level"), "cell.level_not_int", min=smin, max=smax)
                if level is not None and not smin <= level <= smax:
                    bad(rec, "level", "cell.level_range", value=level, min=smin, max=smax)
                    level = None
            except CellError as e:
                bad(rec, "level", e.key, **e.params)
            texts = {}
            for fld in ("evidence", "note"):
                try:
                    s = _text(v.get(fld))
                except CellError as e:
                    bad(rec, fld, e.key, **e.params)
                    s = ""
                if len(s) > limits.max_text:
                    bad(rec, fld, "cell.text_too_long", n=len(s), limit=limits.max_text)
                texts[fld] = s or None
            if v.get("level") in ("", None):
                if texts["evidence"] or texts["note"]:
                    bad(rec, "level", "cell.level_missing_with_text")
                continue  # an unanswered row in a template is simply not answered
            key = (city, opd, year, code)
            if key in seen:
                bad(rec, "indicator_code", "cell.duplicate_row", what=code, first=seen[key])
                continue
            seen[key] = rec.row
            if level is None or fw is None or ind is None or opd_obj is None:
                continue
            sk = (city, opd, year)
            sub = subs.get(sk)
            if sub is None:
                sub = subs[sk] = Submission("assessment", city, opd, year, seq, None, [], rec.row)
            sub.rows.append(AssessmentRow(code, level, texts["evidence"], texts["note"], rec.row))
        else:
            try:
                mcode = _text(v.get("metric_code"))
                period = _text(v.get("period"))
            except CellError as e:
                bad(rec, "metric_code", e.key, **e.params)
                continue
            m = PERIOD_RE.match(period)
            year = int(m.group(1)) if m else None
            if not period:
                bad(rec, "period", "cell.required")
            elif not m:
                bad(rec, "period", "cell.period", value=period)
            fwp = ctx.framework(year) if year else None
            if year and fwp is None:
                bad(rec, "period", "cell.no_framework", value=year)
            fw, seq = fwp if fwp else (None, None)
            ind = fw.metric_codes().get(mcode) if fw else None
            if not mcode:
                bad(rec, "metric_code", "cell.required")
            elif fw and ind is None:
                bad(rec, "metric_code", "cell.unknown_metric", value=mcode, framework=fw.id)
            elif ind and opd_obj and opd_obj.opd_type not in ind.opd_types:
                bad(rec, "metric_code", "cell.not_responsible", value=mcode, opd=opd, opd_type=opd_obj.opd_type)
            value = None
            try:
                value = parse_number(v.get("value"))
                if value is None:
                    bad(rec, "value", "cell.required")
            except CellError as e:
                bad(rec, "value", e.key, **e.params)
            key = (city, opd, mcode, period)
            if key in seen:
                bad(rec, "period", "cell.duplicate_row", what=f"{mcode} {period}", first=seen[key])
                continue
            seen[key] = rec.row
            if value is None or fw is None or ind is None or opd_obj is None or not m:
                continue
            sk = (city, opd, mcode, year)
            sub = subs.get(sk)
            if sub is None:
                sub = subs[sk] = Submission("metric", city, opd, year, seq, mcode, [], rec.row)
            sub.rows.append(MetricRow(period, value, rec.row))
    if problems:
        raise Rejected(problems)
    if not subs:
        raise Rejected([Problem("file.no_rows", file, sheet)])
    return list(subs.values())


def parse_file(data: bytes, file: str, ctx: Context, limits: Limits = DEFAULT_LIMITS):
    """Read and validate one file; returns (kind, delimiter, submissions) or raises Rejected."""
    kind, sheet, records, delimiter, fixed = read_records(data, file, limits)
    if not records:
        raise Rejected([Problem("file.no_rows", file, sheet)])
    subs = validate(kind, file, sheet, records, ctx, fixed, limits)
    return kind, delimiter, subs


# ------------------------------------------------------------------------------- the service


def load_context(store) -> Context:
    return Context(store.frameworks(), store.opd_map(), store.city_codes())


def check_periods(store, cur, subs: list[Submission], file: str) -> list[Problem]:
    """Closed years refuse uploads; locked years refuse every change."""
    problems = []
    for key in sorted({(s.city_code, s.year) for s in subs}):
        status = store.period_status(key[0], key[1], cur)
        if status == "locked":
            problems.append(Problem("period.locked", file, params={"city": key[0], "year": key[1]}))
        elif status == "closed":
            problems.append(Problem("period.closed", file, params={"city": key[0], "year": key[1]}))
    return problems


def ingest_bytes(store, user: User, data: bytes, file: str, ctx: Context | None = None,
                 limits: Limits = DEFAULT_LIMITS, source: str = "upload") -> IngestResult:
    """Validate and store one file as one transaction, as `user`; never raises for bad input."""
    name = Path(file).name
    sha = hashlib.sha256(data).hexdigest()
    result = IngestResult(name, "rejected", sha256=sha)
    ctx = ctx or load_context(store)
    try:
        kind, delimiter, subs = parse_file(data, name, ctx, limits)
    except Rejected as exc:
        result.problems = exc.problems
        return result
    result.kind, result.delimiter = kind, delimiter
    result.rows = sum(len(s.rows) for s in subs)
    try:
        for s in subs:
            require(user, Action.UPLOAD, s.city_code, s.opd_code)
    except PermissionDenied as exc:
        result.problems = [Problem(exc.key, name, params=exc.params)]
        return result
    with store.transaction() as cur:
        problems = check_periods(store, cur, subs, name)
        if problems:
            result.problems = problems
            return result  # nothing written; the transaction commits an empty change
        store.keep_file(cur, sha, name, data)
        ids = store.insert_submissions(cur, subs, user.username, name, sha, source)
        store.write_audit(cur, user, "submission.create", f"file:{name}", None, {
            "sha256": sha, "kind": kind, "submissions": [
                {"id": i, "city": s.city_code, "opd": s.opd_code, "year": s.year, "metric": s.metric_code,
                 "rows": len(s.rows)} for i, s in zip(ids, subs)]})
    result.status = "accepted"
    result.submission_ids = ids
    return result


def ingest_paths(store, user: User, paths: list[str | Path], limits: Limits = DEFAULT_LIMITS) -> list[IngestResult]:
    """Ingest files and folders (searched for .xlsx/.csv), each file on its own."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(x for x in p.rglob("*") if x.suffix.lower() in (".xlsx", ".csv") and x.is_file()))
        else:
            files.append(p)
    ctx = load_context(store)
    out = []
    for f in files:
        try:
            if f.stat().st_size > limits.max_bytes:
                out.append(IngestResult(f.name, "rejected", [Problem("file.too_large", f.name, params={
                    "size": f.stat().st_size, "limit": limits.max_bytes})]))
                continue
            data = f.read_bytes()
        except OSError as exc:
            out.append(IngestResult(f.name, "rejected", [Problem("file.csv_malformed", f.name, params={"detail": str(exc)})]))
            continue
        out.append(ingest_bytes(store, user, data, f.name, ctx, limits))
    return out

