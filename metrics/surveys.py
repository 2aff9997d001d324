"""The citizen impact survey: importing the form tools' exports as aggregated answers.

Why a module of its own: the national evaluation scores Impact from a survey of selected
programmes (at least 50 respondents each, answers on a 1-5 scale), and cities run that survey
with the form tools they have (Google Forms, KoboToolbox/ODK, a plain spreadsheet). Their exports
are one row per respondent and routinely carry what the product must never keep: timestamps
beside names, phone numbers, e-mail addresses, NIK numbers typed into a free-text box. So an
export is read through metrics.readers (the same limits and sheet checks as every upload), every
cell is checked for personal data before anything else happens, and only per-programme counts
and sums of the answers are stored, with the file's SHA-256 but never its content.

Which column names the programme and which columns are questions differs per form, so the
import takes a mapping (`SurveyMapping`): the page and the CLI start from the mapping the city
used last time (`suggest_mapping`), else a guess from the headers and values, and the mapping
used is remembered per city in the import's own transaction.

Arithmetic (kept hand-checkable; the survey scoring method reads the stored sums):
a respondent is a row with at least one answer; a programme's mean answer is the sum of its
answers over their count (a skipped question is not an answer); its impact is mean - 1 (0-4);
a programme with fewer respondents than the survey dimension's `min_respondents` (default 50) is
stored but `sufficient=False`, and the scoring leaves it out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain, pairwise
from typing import TYPE_CHECKING

from metrics.auth import Action, User, require
from metrics.cells import CellError, blank, parse_level
from metrics.errors import PeriodClosed, Problem, Rejected, ValidationError
from metrics.framework import DEFAULT_MIN_RESPONDENTS, framework_for_year
from metrics.governance import YEAR_MAX, YEAR_MIN
from metrics.i18n import t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.ods import open_ods
from metrics.personal import (
    PERSONAL_HEADERS,
    find_contact,
    looks_personal,
    may_hold_contact,
    may_hold_personal,
)
from metrics.readers import (
    Limits,
    col_letter,
    not_a_table,
    open_xlsx,
    read_csv,
    read_sheet,
    sniff,
    stray_cells,
)
from metrics.records import (
    SURVEY_MAX_ANSWER,
    SURVEY_MIN_ANSWER,
    SurveyProgramme,
    SurveyQuestion,
    SurveyUpload,
)

if TYPE_CHECKING:
    from metrics.records import Programme
    from metrics.storage import Storage

# A survey export is taller and wider than a template sheet: hundreds of respondents per
# programme, and the form tools' metadata columns beside the questions. Still bounded (10,000 x 80
# cells) so one import's reading stays within the reader worker's memory budget.
SURVEY_LIMITS = Limits(max_rows=10_000, max_csv_rows=10_000, max_cols=80)
MAX_PROBLEMS = 100  # a wholly wrong file would otherwise list every cell

# Headers (normalised: lower case, runs of other characters as "_") the programme column is
# guessed from, best first.
PROGRAMME_HEADERS = (
    "kode_program",
    "kode_programme",
    "programme_code",
    "program_code",
    "kode_program_kegiatan",
    "programme",
    "program",
    "kode",
)
# Columns the form tools add about the submission, never a question: Google Forms' timestamp
# (English and Indonesian), KoboToolbox/ODK's metadata (every Kobo column starting with "_" too).
METADATA_HEADERS = frozenset(
    {
        "timestamp",
        "stempel_waktu",
        "start",
        "end",
        "today",
        "deviceid",
        "device_id",
        "username",
        "audit",
        "instanceid",
        "meta_instanceid",
        "meta_instancename",
        "formhub_uuid",
    }
)
# Words that make a header personal whatever its content (a token of the normalised header, or
# two adjacent tokens written together: "e-mail", "no hp", "nohp").
PERSONAL_HEADER_WORDS = frozenset(
    {
        "nama",
        "name",
        "telepon",
        "telpon",
        "telp",
        "tlp",
        "phone",
        "phonenumber",
        "ponsel",
        "handphone",
        "hp",
        "wa",
        "whatsapp",
        "email",
        "surel",
        "nik",
        "kk",
        "nkk",
        "ktp",
        "alamat",
        "address",
    }
    | {h.replace("_", "") for h in PERSONAL_HEADERS}
    | {"no" + w for w in ("hp", "wa", "telp", "kk", "nik", "ktp")}
)
# "Nama program", "Nama OPD": a name, but not a person's
_NOT_A_PERSON = frozenset(
    {"program", "programme", "kegiatan", "opd", "dinas", "instansi", "layanan", "kota", "kabupaten"}
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normal_header(header: str) -> str:
    """A header as the guesses compare it: lower case, runs of other characters as one "_"."""
    return _NON_ALNUM.sub("_", header.lower()).strip("_")


def personal_header(header: str) -> bool:
    """Whether a column header names personal data (a name, phone, e-mail, NIK/KK, address)."""
    tokens = [tok for tok in normal_header(header).split("_") if tok]
    words = set(tokens) | {a + b for a, b in pairwise(tokens)}
    hits = words & PERSONAL_HEADER_WORDS
    if hits and hits <= {"nama", "name"} and set(tokens) & _NOT_A_PERSON:
        return False
    return bool(hits)


def is_metadata(header: str) -> bool:
    """A column the form tool adds about the submission (time, device, ids), never a question."""
    norm = normal_header(header)
    return header.strip().startswith("_") or norm in METADATA_HEADERS or norm.startswith("meta_")


# --------------------------------------------------------------------------------- reading


@dataclass
class SurveyTable:
    """One sheet (or CSV) of a survey export: its header and data rows, blank rows dropped.

    `row_numbers[i]` is the 1-based line or row of `rows[i]` in the file.
    """

    file_name: str
    sheet: str | None
    header: list[str]
    rows: list[list[object]]
    row_numbers: list[int]
    delimiter: str | None = None

    def column_label(self, i: int) -> str:
        """How a problem names column `i`: its header in a CSV, "C (header)" in a workbook."""
        name = self.header[i] if i < len(self.header) else ""
        if self.sheet is None:
            return name or str(i + 1)
        return f"{col_letter(i)} ({name})" if name else col_letter(i)

    def cell(self, r: int, i: int) -> object:
        row = self.rows[r]
        return row[i] if i < len(row) else None


def _header_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_survey_table(
    data: bytes, file_name: str, sheet: str | None = None, limits: Limits = SURVEY_LIMITS
) -> SurveyTable:
    """The export's table: a CSV (comma or semicolon), or the first visible sheet of an .xlsx or
    .ods (or the sheet named). Raises Rejected, located, for anything metrics.readers refuses and
    for formula, error and merged cells (their value is not an answer anyone typed)."""
    kind = sniff(data)
    if kind == "csv":
        table = read_csv(data, file_name, limits)
        return SurveyTable(file_name, None, table.header, table.rows, table.row_numbers, table.delimiter)
    if kind not in ("xlsx", "ods"):
        raise not_a_table(data, file_name)
    pkg = open_ods(data, file_name, limits) if kind == "ods" else open_xlsx(data, file_name, limits)
    if sheet is None:
        sheet = next(iter(pkg.sheets), None)
    if sheet is None or sheet not in pkg.sheets:
        names = ", ".join(pkg.sheets) or "-"
        raise Rejected(
            [Problem("survey.no_sheet", file_name, params={"sheet": sheet or "-", "sheets": names})]
        )
    rows, special, merged = read_sheet(pkg, sheet, limits)
    if not rows:
        raise Rejected([Problem("file.no_rows", file_name, sheet)])
    header = [_header_text(v) for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    problems = [
        Problem("xlsx.formula", file_name, sheet, r, col_letter(c0))
        if what == "formula"
        else Problem("xlsx.error_cell", file_name, sheet, r, col_letter(c0), {"value": value})
        for (r, c0), (what, value) in sorted(special.items())
    ]
    for (r0, c0), (r1, c1) in merged:
        ref = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
        problems.append(Problem("xlsx.merged", file_name, sheet, r0 + 1, col_letter(c0), {"ref": ref}))
    if problems:
        raise Rejected(problems[:MAX_PROBLEMS])
    stray_cells(rows, len(header), 1, file_name, sheet)  # a value right of the header is never read
    body, numbers = [], []
    for n, r in enumerate(rows[1:], start=2):
        if any(not blank(v) for v in r):
            body.append(r)
            numbers.append(n)
    return SurveyTable(file_name, sheet, header, body, numbers)


# --------------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class SurveyMapping:
    """Which column of the export names the programme and which columns are the 1-5 questions."""

    programme_column: str
    question_columns: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {"programme_column": self.programme_column, "question_columns": list(self.question_columns)},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> SurveyMapping:
        """The mapping stored by `to_json`; ValueError for anything else."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a survey mapping")
        prog, questions = raw.get("programme_column"), raw.get("question_columns")
        if not isinstance(prog, str) or not isinstance(questions, list):
            raise ValueError("not a survey mapping")
        if not all(isinstance(q, str) for q in questions):
            raise ValueError("not a survey mapping")
        return cls(prog, tuple(questions))


def _answer(v: object) -> int | None:
    """A 1-5 answer, None when blank; CellError otherwise."""
    return parse_level(v, SURVEY_MIN_ANSWER, SURVEY_MAX_ANSWER)


def _answers_only(table: SurveyTable, i: int) -> bool:
    """Whether column `i` holds at least one value and only 1-5 answers otherwise."""
    seen = False
    for r in range(len(table.rows)):
        v = table.cell(r, i)
        if blank(v):
            continue
        try:
            _answer(v)
        except CellError:
            return False
        seen = True
    return seen


def _code_text(v: object) -> str:
    """A programme code cell as text ("" when blank); a number keeps no ".0"."""
    if v is None or isinstance(v, bool):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _remembered(store: Storage, city: str, table: SurveyTable) -> SurveyMapping | None:
    text = store.survey_mapping(city)
    if not text:
        return None
    try:
        mapping = SurveyMapping.from_json(text)
    except ValueError:
        return None
    names = set(table.header)
    if (
        mapping.programme_column in names
        and mapping.question_columns
        and set(mapping.question_columns) <= names
    ):
        return mapping
    return None


def suggest_mapping(store: Storage, city: str, table: SurveyTable) -> SurveyMapping | None:
    """The mapping to offer for `table`: the city's remembered one when its columns all exist,
    else a guess (None when no programme column or no question column can be guessed).

    The guess: the programme column is the first header named like a programme code (kode_program,
    program, programme code, ...), else the column holding most of the city's programme codes; the
    questions are the other columns whose values are all 1-5 answers, form metadata left out.
    """
    remembered = _remembered(store, city, table)
    if remembered is not None:
        return remembered
    norms = [normal_header(h) for h in table.header]
    prog: int | None = None
    for name in PROGRAMME_HEADERS:
        if name in norms:
            prog = norms.index(name)
            break
    if prog is None:
        codes = {p.code for p in store.programmes_in_force(city)}
        hits = [
            sum(_code_text(table.cell(r, i)) in codes for r in range(len(table.rows)))
            for i in range(len(norms))
        ]
        if hits and max(hits) > 0:
            prog = hits.index(max(hits))
    if prog is None:
        return None
    questions = tuple(
        h
        for i, h in enumerate(table.header)
        if i != prog and h and not is_metadata(h) and not personal_header(h) and _answers_only(table, i)
    )
    if not questions:
        return None
    return SurveyMapping(table.header[prog], questions)


# --------------------------------------------------------------------------------- checks


def personal_problems(table: SurveyTable, mapping: SurveyMapping | None = None) -> list[Problem]:
    """Every header and cell that holds personal data (at most MAX_PROBLEMS), located.

    A header is judged by its words (`personal_header`), except a mapped question column's: its
    values are checked to be 1-5 answers, which cannot identify anyone, and a question may well
    mention "WhatsApp" or "alamat website". Cells are judged by metrics.personal's rules (NIK/KK,
    e-mail, Indonesian phone number), in every column; the value itself is never repeated in the
    message.
    """
    questions = set(mapping.question_columns) if mapping else set()
    file, sheet = table.file_name, table.sheet
    problems = [
        Problem("survey.personal_column", file, sheet, 1, table.column_label(i), {"column": h})
        for i, h in enumerate(table.header)
        if h not in questions and personal_header(h)
    ]
    text = "\x00".join(map(str, chain.from_iterable(table.rows)))
    nik, contact = may_hold_personal(text), may_hold_contact(text)
    if not (nik or contact):
        return problems
    for r, row in enumerate(table.rows):
        for i, v in enumerate(row):
            if blank(v) or isinstance(v, bool):
                continue
            key = None
            if nik and looks_personal(v):
                key = "file.personal_data"
            elif contact and (what := find_contact(v)):
                key = f"survey.personal_{what}"
            if key:
                problems.append(Problem(key, file, sheet, table.row_numbers[r], table.column_label(i)))
                if len(problems) >= MAX_PROBLEMS:
                    return problems
    return problems


def _column_problems(table: SurveyTable, mapping: SurveyMapping) -> tuple[list[Problem], dict[str, int]]:
    """The mapped columns' positions, and a problem for each one missing or named twice."""
    file, sheet = table.file_name, table.sheet
    problems: list[Problem] = []
    where: dict[str, int] = {}
    wanted = [mapping.programme_column, *mapping.question_columns]
    if not mapping.question_columns:
        problems.append(Problem("survey.no_questions", file, sheet))
    if mapping.programme_column in mapping.question_columns:
        problems.append(
            Problem("survey.programme_is_question", file, sheet, params={"column": mapping.programme_column})
        )
    for name in dict.fromkeys(wanted):
        found = [i for i, h in enumerate(table.header) if h == name]
        if not found:
            problems.append(Problem("survey.column_missing", file, sheet, 1, params={"column": name}))
        elif len(found) > 1:
            cols = ", ".join(table.column_label(i) for i in found)
            problems.append(
                Problem("survey.column_twice", file, sheet, 1, params={"column": name, "where": cols})
            )
        else:
            where[name] = found[0]
    return problems, where


@dataclass(frozen=True)
class ProgrammeImpact:
    """One surveyed programme's figures as the pages and the CLI show them."""

    code: str
    name: str
    owner_opd: str | None
    respondents: int
    answers: int
    mean_answer: float | None  # answer_sum / answers, 1-5
    impact: float | None  # mean_answer - 1, 0-4
    sufficient: bool  # respondents >= min_respondents: only then does the scoring count it
    questions: tuple[tuple[str, int, float | None], ...] = ()  # (question, answers, mean answer)


def _impact(result: SurveyProgramme, name: str, min_respondents: int) -> ProgrammeImpact:
    mean = result.answer_sum / result.answers if result.answers else None
    return ProgrammeImpact(
        result.programme_code,
        name,
        result.owner_opd,
        result.respondents,
        result.answers,
        mean,
        None if mean is None else mean - 1,
        result.respondents >= min_respondents,
        tuple(
            (q.question, q.answers, q.answer_sum / q.answers if q.answers else None) for q in result.questions
        ),
    )


@dataclass
class SurveyImportResult:
    upload_id: int | None  # None: refused, nothing stored
    rows: int  # data rows read (respondents and rows without any answer)
    programmes: list[ProgrammeImpact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    file_name: str = ""
    mapping: SurveyMapping | None = None
    min_respondents: int = DEFAULT_MIN_RESPONDENTS

    @property
    def accepted(self) -> bool:
        return self.upload_id is not None


def min_respondents_for(store: Storage, year: int) -> int:
    """The survey dimension's floor in the framework in force for `year` (default 50)."""
    fw = framework_for_year(loaded_frameworks(store), year)
    dims = [d for d in fw.dimensions if d.method == "survey"] if fw else []
    return dims[0].min_respondents if dims else DEFAULT_MIN_RESPONDENTS


def _check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError("cell.year", value=year)
    return year


def _aggregate(
    table: SurveyTable,
    mapping: SurveyMapping,
    where: dict[str, int],
    register: dict[str, Programme],
    city: str,
    year: int,
) -> tuple[list[SurveyProgramme], list[Problem]]:
    """Per programme: respondents, answers and their sum, per question too; with every row's problems."""
    file, sheet = table.file_name, table.sheet
    pi = where[mapping.programme_column]
    qs = [(q, where[q]) for q in mapping.question_columns]
    problems: list[Problem] = []
    respondents: dict[str, int] = defaultdict(int)
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0])
    for r, row_no in enumerate(table.row_numbers):
        answers: list[tuple[str, int]] = []
        row_problems: list[Problem] = []
        for q, i in qs:
            v = table.cell(r, i)
            try:
                a = _answer(v)
            except CellError as exc:
                key = "survey.answer_range" if exc.key == "cell.level_range" else "survey.answer_invalid"
                shown = exc.params.get("value", v)  # as read: 6 for a cell of 6.0, text stripped
                row_problems.append(
                    Problem(
                        key,
                        file,
                        sheet,
                        row_no,
                        table.column_label(i),
                        {"value": shown, "min": SURVEY_MIN_ANSWER, "max": SURVEY_MAX_ANSWER},
                    )
                )
                continue
            if a is not None:
                answers.append((q, a))
        if not answers and not row_problems:
            continue  # no answer at all: not a respondent
        code = _code_text(table.cell(r, pi))
        plabel = table.column_label(pi)
        if not code:
            row_problems.insert(0, Problem("survey.programme_missing", file, sheet, row_no, plabel))
        elif code not in register:
            row_problems.insert(
                0,
                Problem(
                    "survey.programme_unknown", file, sheet, row_no, plabel, {"code": code, "city": city}
                ),
            )
        else:
            p = register[code]
            if not p.start_year <= year <= p.end_year:
                row_problems.insert(
                    0,
                    Problem(
                        "survey.programme_not_planned",
                        file,
                        sheet,
                        row_no,
                        plabel,
                        {"code": code, "year": year, "start": p.start_year, "end": p.end_year},
                    ),
                )
        if row_problems:
            problems.extend(row_problems)
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        respondents[code] += 1
        for q, a in answers:
            s = sums[(code, q)]
            s[0] += 1
            s[1] += a
    results = []
    for code in sorted(respondents):
        questions = tuple(
            SurveyQuestion(q, int(sums[(code, q)][0]), float(sums[(code, q)][1]))
            for q in mapping.question_columns
            if (code, q) in sums
        )
        results.append(
            SurveyProgramme(
                code,
                respondents[code],
                sum(q.answers for q in questions),
                float(sum(q.answer_sum for q in questions)),
                register[code].opd_code,
                questions,
            )
        )
    return results, problems[:MAX_PROBLEMS]


def import_survey(
    store: Storage,
    user: User,
    city: str,
    year: int,
    data: bytes,
    file_name: str,
    mapping: SurveyMapping,
    *,
    source: str = "upload",
    min_respondents: int | None = None,
    sheet: str | None = None,
) -> SurveyImportResult:
    """Check a survey export completely, then store its aggregated answers for the city-year.

    Refused (every problem located, nothing stored, `upload_id` None): a mapped column missing;
    a respondent's programme code blank, not in the city's register in force, or not planned for
    `year`; an answer that is not a whole number 1-5; any personal data (by header or by value,
    in any column). Accepted: one new survey upload that supersedes the city-year's previous one
    (kept), the mapping remembered for the city and an audit row, in one transaction.
    """
    require(user, Action.IMPORT_SURVEY, city)
    year = _check_year(year)
    if city not in store.city_codes():
        raise ValidationError("cell.unknown_city", value=city)
    floor = min_respondents if min_respondents is not None else min_respondents_for(store, year)
    result = SurveyImportResult(None, 0, file_name=file_name, mapping=mapping, min_respondents=floor)
    try:
        table = read_survey_table(data, file_name, sheet)
    except Rejected as exc:
        result.problems = exc.problems
        return result
    result.rows = len(table.rows)
    problems = personal_problems(table, mapping)
    col_problems, where = _column_problems(table, mapping)
    problems += col_problems
    register = {p.code: p for p in store.programmes_in_force(city)}
    results: list[SurveyProgramme] = []
    if not col_problems:
        results, row_problems = _aggregate(table, mapping, where, register, city, year)
        problems += row_problems
        if not row_problems and not results:
            problems.append(Problem("survey.no_respondents", file_name, table.sheet))
    if problems:
        result.problems = problems[:MAX_PROBLEMS]
        return result
    counts = {
        "file": file_name,
        "rows": len(table.rows),
        "respondents": sum(r.respondents for r in results),
        "programmes": len(results),
        "insufficient": sum(r.respondents < floor for r in results),
        "min_respondents": floor,
    }
    before = store.survey_uploads(city, year)
    with store.transaction() as cur:
        if store.period_status(city, year, cur) == "locked":
            raise PeriodClosed("period.locked", city=city, year=year)
        uid = store.insert_survey(
            cur,
            city,
            year,
            results,
            user.username,
            file_name=file_name,
            sha256=hashlib.sha256(data).hexdigest(),
            source=source,
            n_rows=len(table.rows),
            mapping=mapping.to_json(),
        )
        store.set_survey_mapping(cur, city, mapping.to_json(), user.username)
        store.write_audit(
            cur,
            user,
            "survey.import",
            f"survey:{city}/{year}",
            {"upload_id": before[0].id, "file": before[0].file_name} if before else None,
            {"upload_id": uid, **counts, "mapping": mapping.to_json()},
        )
    result.upload_id = uid
    result.programmes = [_impact(r, register[r.programme_code].name, floor) for r in results]
    return result


# --------------------------------------------------------------------------------- read models


@dataclass
class SurveySummary:
    """What the survey page shows for a city-year: the upload in force and its figures."""

    city: str
    year: int
    upload: SurveyUpload | None  # None: no survey imported for the year
    min_respondents: int
    programmes: list[ProgrammeImpact]
    superseded: int  # earlier imports of the year, kept
    # the survey method's value: the mean impact of the sufficient programmes (None: none)
    mean_impact: float | None
    note: str  # in the reader's language: programmes left out for too few respondents, or ""


def survey_summary(store: Storage, user: User, city: str, year: int, lang: str) -> SurveySummary:
    """The city-year's survey in force, per programme (respondents, mean, impact, sufficient,
    per question means); programme names from the register in force."""
    require(user, Action.READ_SUBMISSIONS, city)
    floor = min_respondents_for(store, year)
    uploads = store.survey_uploads(city, year)
    if not uploads:
        return SurveySummary(city, year, None, floor, [], 0, None, "")
    names = {p.code: p.name for p in store.programmes_in_force(city)}
    rows = [_impact(r, names.get(r.programme_code, ""), floor) for r in store.survey_results(uploads[0].id)]
    counted = [p.impact for p in rows if p.sufficient and p.impact is not None]
    short = [p.code for p in rows if not p.sufficient]
    note = t("survey.insufficient_note", lang, codes=", ".join(short), min=floor) if short else ""
    return SurveySummary(
        city,
        year,
        uploads[0],
        floor,
        rows,
        len(uploads) - 1,
        sum(counted) / len(counted) if counted else None,
        note,
    )


def survey_history(store: Storage, user: User, city: str, year: int) -> list[SurveyUpload]:
    """Every survey import of the city-year, newest (in force) first."""
    require(user, Action.READ_SUBMISSIONS, city)
    return store.survey_uploads(city, year)
