"""The OPD operator's side of the core: templates, uploads, in-browser drafts, versions and diffs.

Why one module: an OPD operator reaches the store in four ways (download a pre-filled workbook,
upload it, fill the same form in the browser, look back at what was sent), and all four must
obey the same rules. In particular the browser form is NOT validated by code of its own: a
draft is turned into the same CSV an operator could have uploaded and passed through
`metrics.ingest` (parse_upload + store_parsed), so a level, an evidence text or a personal-data
number is accepted or refused by exactly the same rules whichever way it arrives, and a
submitted form is stored, audited and superseded like any other upload.

Scope is checked here before anything is read: an OPD user sees and changes only their own
OPD's drafts and submissions (auth.require with the city and OPD), everyone else only within
their city scope.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, cast

import pandas as pd

from metrics import evidence as evidence_files  # files and links (issue 18); `evidence` is the text
from metrics import ingest, scoring
from metrics.auth import Action, User, require
from metrics.cells import NA, blank, editor_value, is_na, level_or_none, missing
from metrics.errors import PeriodClosed, Problem, ValidationError
from metrics.feedback import FeedbackFile, errors_file, feedback_file
from metrics.formatting import number
from metrics.framework import Framework, Indicator, framework_for_year
from metrics.i18n import pick, t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.ods import ODS_MIME
from metrics.readers import DEFAULT_LIMITS, Limits, sniff
from metrics.records import EvidenceItem, SubmissionBatch, SubmissionMeta
from metrics.reports import CSV_MIME, XLSX_MIME
from metrics.responsibility import indicators_of  # who answers what: the one rule
from metrics.templates import build_template

if TYPE_CHECKING:
    from metrics.clarify import RequestView
    from metrics.registry import City, Opd
    from metrics.storage import Cursor, Storage

FORM_COLUMNS = ["city_code", "opd_code", "year", "indicator_code", "level", "evidence", "note"]
DRAFT_FORMAT = 1
MAX_DRAFT_BYTES = 1_000_000  # a full form of long evidence texts is far below this

# indicator -> (level, evidence, note) as the form holds them: texts, as a draft saves them
FormTexts = dict[str, tuple[str, str, str]]
# indicator -> (level, evidence, note) shown on the form: a draft's texts or the answer in force;
# a "tidak berlaku" answer is level NA ("TB") with its reason as the note (metrics.cells)
ShownAnswers = Mapping[str, tuple[object, str | None, str | None]]
# the states of a "tidak berlaku" answer, as its card and the OPD home show them (issue 17):
# draft (not sent yet), pending (sent, no assessor's word), accepted, rejected (with the note)
NA_STATES = ("draft", "pending", "accepted", "rejected")


# ------------------------------------------------------------------------------ shared helpers


def _framework(store: Storage, year: int) -> tuple[Framework, int]:
    frameworks = loaded_frameworks(store)
    fw = framework_for_year(frameworks, year)
    if fw is None:
        raise ValidationError("cell.no_framework", value=year)
    return fw, next(seq for f, seq in frameworks if f is fw)


def _city_opd(store: Storage, city: str, opd: str) -> tuple[City, Opd]:
    cities = {c.city_code: c for c in store.cities()}
    o = store.opd_map().get((city, opd))
    if city not in cities:
        raise ValidationError("cell.unknown_city", value=city)
    if o is None:
        raise ValidationError("cell.unknown_opd", value=opd, city=city)
    return cities[city], o


def _clean(v: object) -> str:
    return "" if missing(v) else str(v)


def _level_cell(v: object) -> str:
    """A level as the form holds it (int, float from pandas, text, None/NaN/NA), written as the
    CSV text an upload of the form carries; ingest then judges it by the one rule (metrics.cells)."""
    v = editor_value(v)
    if blank(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _shown_level(v: object, fw: Framework) -> int | str | None:
    """A draft's or stored level as a template pre-fills it: NA for "tidak berlaku", else as
    `_level_or_none` reads it."""
    return NA if is_na(editor_value(v)) else _level_or_none(v, fw)


def na_state(claim: Mapping[str, object] | None) -> str:
    """The state of a submitted "tidak berlaku" answer (a store.na_claims row; None: not sent).

    The newest assessor's decision on the indicator counts, as in scoring; a rejection older
    than the submission that claims it again is waiting for the assessor's word anew.
    """
    if claim is None:
        return "draft"
    decision, decided_at, submitted_at = claim["decision"], claim["decided_at"], claim["submitted_at"]
    if decision == "accepted":
        return "accepted"
    if decision == "rejected" and not (
        isinstance(decided_at, datetime) and isinstance(submitted_at, datetime) and submitted_at > decided_at
    ):
        return "rejected"
    return "pending"


def _level_or_none(v: object, fw: Framework) -> int | None:
    """A draft's level as the upload rule reads it on `fw`'s scale; None when it is blank or
    would be refused (shown unanswered; submitting reports why)."""
    return level_or_none(editor_value(v), fw.scale_min, fw.scale_max)


# ------------------------------------------------------------------------------ templates


@dataclass(frozen=True)
class DownloadFile:
    name: str
    data: bytes
    mime: str


def current_answers(
    store: Storage, city: str, opd: str, year: int
) -> dict[str, tuple[int | str | None, str | None, str | None]]:
    """The OPD's answers in force for the year, indicator -> (level, evidence, note); a "tidak
    berlaku" answer as (NA, None, reason)."""
    out: dict[str, tuple[int | str | None, str | None, str | None]] = {
        r["indicator_code"]: (int(r["level"]), r["evidence"], r["note"])
        for r in store.answer_rows(year, city, opd)
    }
    for c in store.na_claims(city, year, opd):
        out[c["indicator_code"]] = (NA, None, c["reason"])
    return out


def _draft_answers(
    store: Storage, city: str, opd: str, year: int
) -> tuple[FormTexts | None, datetime | None, str | None]:
    """The OPD's saved draft for the year, when there is one: its answers, when and by whom saved."""
    row = store.get_draft(city, opd, year)
    if row is None:
        return None, None, None
    payload = json.loads(row[0])
    answers = {code: (a[0], a[1], a[2]) for code, a in payload.get("answers", {}).items()}
    return answers, row[1], row[2]


def template(store: Storage, user: User, city: str, opd: str, year: int) -> DownloadFile:
    """The OPD's workbook for `year`, pre-filled from its draft, else from its submission in force."""
    require(user, Action.TEMPLATE, city, opd)
    fw, _ = _framework(store, year)
    c, o = _city_opd(store, city, opd)
    draft, _, _ = _draft_answers(store, city, opd, year)
    answers: ShownAnswers = draft if draft is not None else current_answers(store, city, opd, year)
    prefill = {
        code: (_shown_level(level, fw), evidence or None, note or None)
        for code, (level, evidence, note) in answers.items()
    }
    data = build_template(fw, c, o, year, prefill, indicators=indicators_of(store, fw, o))
    return DownloadFile(f"penilaian_{city}_{opd}_{year}.xlsx", data, XLSX_MIME)


def metric_template(store: Storage, user: User, city: str, opd: str, year: int) -> DownloadFile:
    """A service-metric CSV for the OPD: one row per metric it reports, the value left to fill.

    The period is the year; an OPD that reports monthly adds rows with periods YYYY-MM instead.
    """
    require(user, Action.TEMPLATE, city, opd)
    fw, _ = _framework(store, year)
    _, o = _city_opd(store, city, opd)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ingest.METRIC_COLUMNS)
    for ind in indicators_of(store, fw, o):
        if ind.metric:
            w.writerow([city, opd, ind.metric.code, str(year), ""])
    return DownloadFile(
        f"metrik_{city}_{opd}_{year}.csv", ("\ufeff" + buf.getvalue()).encode("utf-8"), CSV_MIME
    )


# ------------------------------------------------------------------------------ outcome of a write


@dataclass(frozen=True)
class UnitSummary:
    """How an accepted submission left its OPD and city (the operator's 'accepted' screen)."""

    city_code: str
    opd_code: str
    opd_name: str
    year: int
    kind: str
    rows: int
    answered: int  # indicators the OPD now has answered that year (assessment or metric)
    pairs: int  # indicators the OPD is responsible for
    completeness: float | None
    opd_index: float | None
    city_index_before: float | None
    city_index_after: float | None
    na: int = 0  # "tidak berlaku" answers of the submission, each waiting for an assessor's word

    @property
    def city_index_change(self) -> float | None:
        if self.city_index_before is None or self.city_index_after is None:
            return None
        return self.city_index_after - self.city_index_before


@dataclass(frozen=True)
class IndexEffect:
    """What a file would do to one OPD's and its city's numbers: now, after a merge, after a replace."""

    city_code: str
    opd_code: str
    opd_name: str
    year: int
    pairs: int
    answered: dict[str, int]  # now | merge | replace -> indicators the OPD has answered
    opd_index: dict[str, float | None]  # now | merge | replace -> the OPD's index
    city_index: dict[str, float | None]  # now | merge | replace -> the city index


@dataclass(frozen=True)
class UploadPreview:
    """A file (or a submitted form) compared with the versions in force, before anything takes force.

    Built when it would drop answers: the page shows what is kept, changed, added and dropped
    (by indicator code and name) and the index effect of each choice, and the operator chooses
    merge (the default) or replace.
    """

    file: str
    changes: ingest.Changes
    answers: pd.DataFrame  # change, opd_code, metric_code, key, name, old, new
    effects: tuple[IndexEffect, ...] = ()

    @property
    def drops(self) -> bool:
        return self.changes.drops

    def counts(self, mode: str | None = None) -> dict[str, int]:
        return self.changes.counts(mode)

    def frame(self, change: str) -> pd.DataFrame:
        """The answers of one kind of change (kept | changed | added | dropped)."""
        return self.answers[self.answers["change"] == change].drop(columns=["change"]).reset_index(drop=True)

    def effects_frame(self, lang: str = "id") -> pd.DataFrame:
        """One row per measure (answered, OPD index, city index) and OPD: now, after merge, after replace;
        index values written as the language writes numbers (2,87 in Indonesian, like the accepted screen)."""
        rows: list[dict[str, object]] = []
        for e in self.effects:
            rows.append(
                {
                    "measure": "answered",
                    "opd_code": e.opd_code,
                    "opd_name": e.opd_name,
                    **{m: f"{v} / {e.pairs}" for m, v in e.answered.items()},
                }
            )
            for measure, values in (("opd_index", e.opd_index), ("city_index", e.city_index)):
                rows.append(
                    {
                        "measure": measure,
                        "opd_code": e.opd_code,
                        "opd_name": e.opd_name,
                        **{m: (None if v is None else number(v, lang)) for m, v in values.items()},
                    }
                )
        return pd.DataFrame(rows, columns=["measure", "opd_code", "opd_name", "now", "merge", "replace"])


PREVIEW_COLUMNS = ["change", "opd_code", "metric_code", "key", "name", "old", "new"]


def _shown(values: ingest.AnswerValues | None) -> object:
    """A stored answer as the preview shows it: the level (or a metric's value); NA ("TB") for
    a "tidak berlaku" answer."""
    if isinstance(values, ingest.NaValue):
        return NA
    return None if values is None else values[0]


def _preview(store: Storage, user: User, file: str, batch: SubmissionBatch, lang: str) -> UploadPreview:
    changes = ingest.compare_in_force(store, batch)
    fw_names: dict[str, str] = {}
    metric_names: dict[str | None, str] = {}  # looked up by a unit's metric code
    for y in sorted(set(batch.year)):
        fw = framework_for_year(loaded_frameworks(store), y)
        if fw is not None:
            fw_names.update({i.code: pick(i.name, lang) for i in fw.indicators})
            metric_names.update(
                {i.metric.code: f"{i.code} {pick(i.name, lang)}" for i in fw.indicators if i.metric}
            )
    rows = []
    for u in changes.units:
        for change in ingest.CHANGE_KINDS:
            for key in getattr(u, change):
                name = (
                    fw_names.get(key, "") if u.kind == "assessment" else metric_names.get(u.metric_code, "")
                )
                rows.append(
                    {
                        "change": change,
                        "opd_code": u.opd_code,
                        "metric_code": u.metric_code,
                        "key": key,
                        "name": name,
                        "old": _shown(u.old.get(key)),
                        "new": _shown(u.new.get(key)),
                    }
                )
    answers = pd.DataFrame(rows, columns=PREVIEW_COLUMNS)
    effects = []
    merged_batch = ingest.merged(batch, changes)
    for city, year in sorted(set(zip(batch.city_code, batch.year))):
        now = scoring.city_score(store, city, year)
        opds_now = {o.opd_code: o for o in scoring.opd_scores(store, year, city)}
        after = {
            m: scoring.scores_if(store, b, user.username, city, year)
            for m, b in (("merge", merged_batch), ("replace", batch))
        }
        for opd in sorted(
            {o for c, o, y in zip(batch.city_code, batch.opd_code, batch.year) if (c, y) == (city, year)}
        ):
            per = {"now": opds_now.get(opd), **{m: after[m][1].get(opd) for m in after}}
            cities = {"now": now, **{m: after[m][0] for m in after}}
            some = next((x for x in per.values() if x is not None), None)
            effects.append(
                IndexEffect(
                    city,
                    opd,
                    some.name if some else opd,
                    year,
                    some.pairs if some else 0,
                    {m: (x.answered if x else 0) for m, x in per.items()},
                    {m: (x.index if x else None) for m, x in per.items()},
                    {
                        m: (c.index if c is not None and c.missing < c.indicators else None)
                        for m, c in cities.items()
                    },
                )
            )
    return UploadPreview(file, changes, answers, tuple(effects))


@dataclass
class Outcome:
    """The result of an upload or a form submission, ready for the page to show."""

    status: str  # accepted | rejected | saved | choose (it would drop answers: see `preview`)
    file: str
    kind: str | None = None
    problems: list[Problem] = field(default_factory=list)
    submission_ids: list[int] = field(default_factory=list)
    summaries: list[UnitSummary] = field(default_factory=list)
    feedback: FeedbackFile | None = None  # refused upload: the marked workbook, else a CSV of errors
    errors: FeedbackFile | None = None  # any problem: every problem as a formula-safe CSV
    row_codes: dict[int, str] = field(default_factory=dict)  # form line -> indicator, to name rows
    answered: int = 0  # answers in a saved draft
    mode: str | None = None  # merge | replace, when one was chosen
    changes: dict[str, int] = field(default_factory=dict)  # kept/changed/added/dropped in the stored version
    preview: UploadPreview | None = None  # status "choose": what each choice would do

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @property
    def needs_choice(self) -> bool:
        return self.status == "choose"

    def problems_frame(self, lang: str = "id") -> pd.DataFrame:
        """One row per problem: where (file/sheet/row/column), the indicator its row answers, and what."""
        rows = []
        for p in self.problems:
            indicator = p.indicator_label(lang) or (
                self.row_codes.get(p.row, "") if p.row is not None else ""
            )
            rows.append(
                {
                    "file": p.file or self.file,
                    "sheet": p.sheet or "",
                    "row": p.row,
                    "column": p.column or "",
                    "indicator": indicator,
                    "message": p.message(lang),
                    "code": p.key,
                }
            )
        df = pd.DataFrame(rows, columns=["file", "sheet", "row", "column", "indicator", "message", "code"])
        df["row"] = df["row"].astype("Int64")
        return df

    def summary_frame(self) -> pd.DataFrame:
        cols = [
            "city_code",
            "opd_code",
            "opd_name",
            "year",
            "kind",
            "rows",
            "answered",
            "pairs",
            "completeness",
            "opd_index",
            "city_index_before",
            "city_index_after",
        ]
        return pd.DataFrame([s.__dict__ for s in self.summaries], columns=cols)


def _city_indexes(store: Storage, units: set[tuple[str, int]]) -> dict[tuple[str, int], float | None]:
    out = {}
    for city, year in units:
        cs = scoring.city_score(store, city, year)
        out[(city, year)] = cs.index if cs is not None and cs.missing < cs.indicators else None
    return out


def _summaries(
    store: Storage, b: SubmissionBatch, before: dict[tuple[str, int], float | None]
) -> list[UnitSummary]:
    units = sorted(set(zip(b.city_code, b.opd_code, b.year, b.kind)))
    after = _city_indexes(store, {(c, y) for c, _, y, _ in units})
    out = []
    opd_cache: dict[tuple[str, int], dict[str, scoring.OpdScore]] = {}
    for city, opd, year, kind in units:
        scores = opd_cache.get((city, year))
        if scores is None:
            scores = opd_cache[(city, year)] = {o.opd_code: o for o in scoring.opd_scores(store, year, city)}
        s = scores.get(opd)
        ks = [
            k
            for k, (c, o, y, kd) in enumerate(zip(b.city_code, b.opd_code, b.year, b.kind))
            if (c, o, y, kd) == (city, opd, year, kind)
        ]
        rows = sum(b.n_rows[k] for k in ks)
        na = sum(1 for k in b.n_sub if k in ks)
        out.append(
            UnitSummary(
                city,
                opd,
                s.name if s else "",
                year,
                kind,
                rows,
                s.answered if s else 0,
                s.pairs if s else 0,
                s.completeness if s else None,
                s.index if s else None,
                before.get((city, year)),
                after.get((city, year)),
                na,
            )
        )
    return out


def _store_one(
    store: Storage,
    user: User,
    parsed: ingest.Parsed,
    source: str,
    on_accept: Callable[[Cursor, list[int]], None] | None = None,
    mode: str | None = None,
) -> list[UnitSummary]:
    """Store one parsed file through ingest.store_parsed and summarise what it changed."""
    before: dict[tuple[str, int], float | None] = {}
    if parsed.batch is not None:
        before = _city_indexes(store, set(zip(parsed.batch.city_code, parsed.batch.year)))
    ingest.store_parsed(store, user, [parsed], source, on_accept, mode)
    # the batch as stored (a merge replaces it); an accepted file always has one
    stored = parsed.batch
    return _summaries(store, stored, before) if stored is not None and parsed.result.accepted else []


def _choice_batch(parsed: ingest.Parsed) -> SubmissionBatch | None:
    """The batch of a file refused only because it would drop answers (ingest's rule): the
    operator is to choose; None otherwise."""
    if not parsed.result.accepted and [p.key for p in parsed.result.problems] == ["file.drops_answers"]:
        return parsed.batch
    return None


def upload(
    store: Storage,
    user: User,
    data: bytes,
    file: str,
    lang: str = "id",
    limits: Limits = DEFAULT_LIMITS,
    mode: str | None = None,
) -> Outcome:
    """Validate and store one uploaded workbook or CSV (self-assessment or service metrics).

    The same path as `ingest_bytes`: every problem listed with its position and nothing stored,
    or the whole file stored in one audited transaction. A refused file comes back with a
    feedback file (the workbook with its faulty cells marked, or a CSV of the errors).
    A file that would drop answers from the version in force is stored only with `mode`
    (merge | replace); without one nothing is stored and the outcome's status is "choose",
    with a `preview` of what each choice would do.
    """
    require(user, Action.UPLOAD, user.city_code, user.opd_code)  # role first; each row's scope in ingest
    parsed = ingest.parse_upload(data, file, ingest.load_context(store, user), limits)
    summaries = _store_one(store, user, parsed, "upload", mode=mode)
    r = parsed.result
    out = Outcome(
        r.status,
        r.file,
        r.kind,
        list(r.problems),
        list(r.submission_ids),
        summaries,
        mode=r.mode,
        changes=dict(r.changes),
    )
    batch = _choice_batch(parsed)
    if batch is not None:
        out.status, out.preview = "choose", _preview(store, user, r.file, batch, lang)
        return out
    if not r.accepted:
        out.feedback = feedback_file(data, r.file, r.problems, lang, limits)
        out.errors = errors_file(r.problems, r.file, lang)
    return out


# ------------------------------------------------------------------------------ the browser form


UNSET = object()  # a form field the page never drew (keep the answer shown) as against an emptied one


@dataclass(frozen=True)
class LevelChoice:
    """One level of an indicator's rubric, as a choice on its card: the number and the full text."""

    level: int
    text: str

    @property
    def label(self) -> str:
        """'3 — <rubric text>': what the radio button shows."""
        return f"{self.level} — {self.text}" if self.text else str(self.level)


@dataclass(frozen=True)
class MetricInfo:
    """The service metric an indicator is scored from, and what it gives the city this year."""

    code: str
    unit: str
    aggregate: str
    direction: str  # higher | lower: which way the thresholds are passed
    thresholds: tuple[float, ...]  # the value needed for level 1, 2, ...
    value: float | None  # the year's aggregate; None while no metric value is in force
    level: int | None  # the level the value reaches

    @property
    def scores(self) -> bool:
        """The metric decides the level (it has a value): a self-assessed level would have no effect."""
        return self.value is not None


@dataclass(frozen=True)
class FormCard:
    """One indicator of the form: code, name, the rubric as choices, the answer, the metric if any."""

    code: str
    name: str
    dimension: str
    choices: tuple[LevelChoice, ...]
    level: int | None
    evidence: str
    note: str
    metric: MetricInfo | None = None
    allow_na: bool = False  # the framework lets this indicator be answered "tidak berlaku"
    na: bool = False  # answered "tidak berlaku" (the note is its reason)
    na_state: str | None = None  # one of NA_STATES when `na`
    na_note: str | None = None  # the assessor's note on it (a rejection's reason)
    # issue 18: the files and links linked to the answer, the evidence each level requires (the
    # framework's, by level: the card shows the list of the level chosen), the open requests
    items: tuple[EvidenceItem, ...] = ()
    requirements: tuple[tuple[int, tuple[str, ...]], ...] = ()
    requests: tuple[RequestView, ...] = ()

    def required(self, level: object) -> tuple[str, ...]:
        """The evidence the framework requires at `level` (a level the card's choice holds)."""
        return next((labels for lv, labels in self.requirements if lv == level), ())

    @property
    def value(self) -> int | str | None:
        """What the card's level choice holds: a level, NA, or None."""
        return NA if self.na else self.level

    @property
    def level_editable(self) -> bool:
        """False when a service metric with a value scores it: the level is shown, not asked for."""
        return self.metric is None or not self.metric.scores

    @property
    def answered(self) -> bool:
        """Filled in on the form (a "tidak berlaku" answer too: it counts in the index only once an
        assessor confirms it, see `na_state`)."""
        return self.level is not None or self.na or not self.level_editable

    def choice(self, level: int | str | None, lang: str = "id") -> str:
        """The label of `level` ('3 — <rubric text>'; NA: 'TB — tidak berlaku'), for the page's format_func."""
        if level == NA:
            return t("na.choice", lang, na=NA)
        return next((c.label for c in self.choices if c.level == level), "" if level is None else str(level))


@dataclass(frozen=True)
class PillarGroup:
    code: str
    name: str
    cards: tuple[FormCard, ...]

    @property
    def answered(self) -> int:
        return sum(1 for c in self.cards if c.answered)

    @property
    def total(self) -> int:
        return len(self.cards)

    @property
    def needs_attention(self) -> bool:
        """An unanswered indicator, or an open clarification request on one of its answers: the
        form opens this pillar so that reaching the card costs no click."""
        return self.answered < self.total or any(c.requests for c in self.cards)


@dataclass(frozen=True)
class EntryForm:
    """The form for one OPD and year: the OPD's indicators with rubric and its current answers."""

    city_code: str
    city_name: str
    opd_code: str
    opd_name: str
    year: int
    framework_id: str
    scale_min: int
    scale_max: int
    status: str  # the period: open | closed | locked
    source: str  # draft | submission | empty: where the answers shown come from
    saved_at: object = None
    saved_by: str | None = None
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    # code, indicator, pillar, dimension, rubric_<lv>..., level, na, evidence, note
    pillars: tuple[
        PillarGroup, ...
    ] = ()  # the same indicators as cards, grouped by pillar in framework order
    # every evidence item the OPD gave this year (issue 18): what the attach panel offers to reuse
    items: tuple[EvidenceItem, ...] = ()

    @property
    def editable(self) -> bool:
        return self.status == "open"

    @property
    def requests(self) -> list[RequestView]:
        """The open clarification requests on the OPD's answers, card by card."""
        return [r for c in self.cards for r in c.requests]

    @property
    def cards(self) -> list[FormCard]:
        return [c for g in self.pillars for c in g.cards]

    @property
    def answered(self) -> int:
        """Indicators with a level: chosen, or given by a service metric ('answered x of y')."""
        return sum(g.answered for g in self.pillars)

    @property
    def total(self) -> int:
        return sum(g.total for g in self.pillars)

    def records(self, get: Callable[[str, str], object]) -> list[dict[str, object]]:
        """The answers to save or submit, one per card, as save_draft/submit take them.

        `get(code, field)` gives what the page holds for a card's field ("level", "evidence",
        "note"), or UNSET when it never drew it (the card's own answer is kept). A level a service
        metric decides is carried over as it was, never taken from the page.
        """

        def val(code: str, fld: str, current: object) -> object:
            v = get(code, fld)
            return current if v is UNSET else v

        out = []
        for c in self.cards:
            out.append(
                {
                    "code": c.code,
                    "level": val(c.code, "level", c.value) if c.level_editable else c.value,
                    "evidence": val(c.code, "evidence", c.evidence),
                    "note": val(c.code, "note", c.note),
                }
            )
        return out

    @property
    def levels(self) -> list[int]:
        return list(range(self.scale_min, self.scale_max + 1))

    @property
    def rubric_columns(self) -> dict[str, int]:
        """The rubric columns of `rows` and the level each describes."""
        return {f"rubric_{lv}": lv for lv in self.levels}

    def closed_message(self, lang: str = "id") -> str | None:
        """Why the form cannot be changed (the year is closed or locked), or None when it can."""
        return _period_message(self.status, self.city_code, self.year, lang)


def form(store: Storage, user: User, city: str, opd: str, year: int, lang: str = "id") -> EntryForm:
    """The OPD's form: the draft if one is saved, else the submission in force, else empty."""
    require(user, Action.UPLOAD, city, opd)
    fw, _ = _framework(store, year)
    c, o = _city_opd(store, city, opd)
    draft, saved_at, saved_by = _draft_answers(store, city, opd, year)
    answers: ShownAnswers
    if draft is not None:
        answers, source = draft, "draft"
    else:
        answers = current_answers(store, city, opd, year)
        source = "submission" if answers else "empty"
    rows = []
    for ind in indicators_of(store, fw, o):
        level, evidence, note = answers.get(ind.code, (None, None, None))
        row: dict[str, object] = {
            "code": ind.code,
            "indicator": pick(ind.name, lang),
            "pillar": ind.subpillar or ind.pillar,
            "dimension": ind.dimension,
        }
        for lv in range(fw.scale_min, fw.scale_max + 1):
            row[f"rubric_{lv}"] = pick(ind.levels.get(lv), lang)
        row.update(
            {
                "level": _level_or_none(level, fw),
                "na": is_na(editor_value(level)),  # "tidak berlaku": the note is its reason
                "evidence": evidence or "",
                "note": note or "",
            }
        )
        rows.append(row)
    cols = (
        ["code", "indicator", "pillar", "dimension"]
        + [f"rubric_{lv}" for lv in range(fw.scale_min, fw.scale_max + 1)]
        + ["level", "na", "evidence", "note"]
    )
    df = pd.DataFrame(rows, columns=cols)
    df["level"] = df["level"].astype("Int64")
    return EntryForm(
        city,
        c.name,
        opd,
        o.name,
        year,
        fw.id,
        fw.scale_min,
        fw.scale_max,
        store.period_status(city, year),
        source,
        saved_at,
        saved_by,
        df,
        _with_evidence(
            store,
            user,
            _pillar_groups(store, fw, city, year, indicators_of(store, fw, o), answers, lang, opd),
            fw,
            city,
            opd,
            year,
            lang,
        ),
        tuple(evidence_files.items(store, user, city, opd, year)),
    )


def _with_evidence(
    store: Storage,
    user: User,
    groups: tuple[PillarGroup, ...],
    fw: Framework,
    city: str,
    opd: str,
    year: int,
    lang: str,
) -> tuple[PillarGroup, ...]:
    """The cards with their evidence items, the framework's required evidence per level and the
    open clarification requests on them (issue 18)."""
    from dataclasses import replace

    from metrics import clarify

    by_code = {i.code: i for i in fw.indicators}
    linked = evidence_files.year_evidence(store, user, city, year, opd)
    reqs: dict[str, list[RequestView]] = {}
    if open_requests := clarify.open_requests(store, user, city, opd, year):
        for v in clarify.views_of(store, city, year, open_requests, lang):
            reqs.setdefault(v.request.indicator_code, []).append(v)
    out = []
    for g in groups:
        cards = []
        for c in g.cards:
            ind = by_code[c.code]
            cards.append(
                replace(
                    c,
                    items=tuple(item for _opd, item in linked.get(c.code, ())),
                    requirements=tuple(
                        (lv, tuple(pick(x, lang) for x in labels))
                        for lv, labels in sorted(ind.evidence.items())
                    ),
                    requests=tuple(reqs.get(c.code, ())),
                )
            )
        out.append(PillarGroup(g.code, g.name, tuple(cards)))
    return tuple(out)


# ------------------------------------------------------------------------------ attaching evidence


@dataclass(frozen=True)
class Attached:
    """What one use of the attach panel did: the items it linked, and the checks' notes on new files."""

    items: tuple[EvidenceItem, ...]
    indicators: tuple[str, ...]

    @property
    def flagged(self) -> list[EvidenceItem]:
        """New files the checks flagged to the uploader (e.g. a NIK/KK-like number in the text)."""
        return [i for i in self.items if i.flags]


def attach(
    store: Storage,
    user: User,
    city: str,
    opd: str,
    year: int,
    indicators: Iterable[str],
    file: tuple[bytes, str] | None = None,
    url: str | None = None,
    reuse: Iterable[int] = (),
) -> Attached:
    """The attach panel of Isi formulir and Unggah: a new file and/or an https link, and/or items
    the OPD gave earlier this year, linked to each of `indicators` (metrics.evidence checks,
    stores and audits each). Refused (ValidationError) when no indicator or nothing to attach
    is given; a refused file or link raises the evidence module's error and links nothing."""
    codes = tuple(dict.fromkeys(str(c) for c in indicators))
    reuse_ids = tuple(dict.fromkeys(int(i) for i in reuse))
    url = (url or "").strip() or None
    if not codes:
        raise ValidationError("evidence.attach_no_indicator")
    if file is None and url is None and not reuse_ids:
        raise ValidationError("evidence.attach_nothing")
    if url is not None:  # the one link rule, before a file is stored for nothing
        url = evidence_files.check_url(url)
    done: list[EvidenceItem] = []
    if file is not None:
        done.append(evidence_files.add_file(store, user, city, opd, year, file[0], file[1], codes))
    if url is not None:
        done.append(evidence_files.add_link(store, user, city, opd, year, url, codes))
    if reuse_ids:
        mine = {i.id: i for i in evidence_files.items(store, user, city, opd, year)}
        for item_id in reuse_ids:
            if item_id not in mine:
                raise ValidationError("clarify.item_not_yours", ids=str(item_id))
            for code in codes:
                evidence_files.link(store, user, city, opd, year, code, item_id)
            done.append(mine[item_id])
    return Attached(tuple(done), codes)


def _pillar_groups(
    store: Storage,
    fw: Framework,
    city: str,
    year: int,
    indicators: list[Indicator],
    answers: ShownAnswers,
    lang: str,
    opd: str | None = None,
) -> tuple[PillarGroup, ...]:
    """The form's cards grouped by top-level pillar, each with its rubric, answer and metric."""
    scored = (
        {lv.code: lv for lv in scoring.indicator_levels(store, city, year)}
        if any(i.metric for i in indicators)
        else {}
    )
    by_pillar: dict[str, list[FormCard]] = {}
    claims = (
        {c["indicator_code"]: c for c in store.na_claims(city, year, opd)}
        if opd is not None and any(i.allow_na for i in indicators)
        else {}
    )
    for ind in indicators:
        level, evidence, note = answers.get(ind.code, (None, None, None))
        na = is_na(editor_value(level))
        claim = claims.get(ind.code)
        metric = None
        if ind.metric:
            m, lv = ind.metric, scored.get(ind.code)
            value = lv.metric_value if lv is not None else None
            metric = MetricInfo(
                m.code,
                m.unit,
                m.aggregate,
                m.direction,
                tuple(m.thresholds),
                value,
                lv.metric_level if lv is not None and value is not None else None,
            )
        choices = tuple(
            LevelChoice(n, pick(ind.levels.get(n), lang) or "") for n in range(fw.scale_min, fw.scale_max + 1)
        )
        by_pillar.setdefault(ind.pillar, []).append(
            FormCard(
                ind.code,
                pick(ind.name, lang),
                ind.dimension,
                choices,
                _level_or_none(level, fw),
                evidence or "",
                note or "",
                metric,
                ind.allow_na,
                na,
                na_state(claim) if na else None,
                (claim["decision_note"] or None) if na and claim is not None else None,
            )
        )
    return tuple(
        PillarGroup(p.code, pick(p.name, lang), tuple(by_pillar[p.code]))
        for p in fw.pillars
        if p.code in by_pillar
    )


def _answers_of(rows: Iterable[Mapping[str, object]]) -> FormTexts:
    """code -> (level, evidence, note) as text, from data-editor records or (code, level, ...) dicts."""
    out = {}
    for r in rows:
        code = _clean(r.get("code", r.get("indicator_code"))).strip()
        if not code:
            continue
        out[code] = (_level_cell(r.get("level")), _clean(r.get("evidence")), _clean(r.get("note")))
    return out


def form_csv(city: str, opd: str, year: int, answers: FormTexts) -> tuple[bytes, dict[int, str]]:
    """The form as the CSV an operator could have uploaded, and which CSV line holds which indicator.

    Unanswered rows (no level, evidence or note) are left out, as an empty template row is.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FORM_COLUMNS)
    for code, (level, evidence, note) in answers.items():
        if blank(level) and blank(evidence) and blank(note):
            continue
        w.writerow([city, opd, year, code, level, evidence, note])
    text = buf.getvalue()
    # the line numbers the reader will report (csv.reader's line_num, as ingest's reader uses it)
    codes = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    for n, r in enumerate(reader):
        if n:
            codes[reader.line_num] = r[3]
    return text.encode("utf-8"), codes


def _form_file(city: str, opd: str, year: int) -> str:
    return f"formulir_{city}_{opd}_{year}.csv"


def _period_message(status: str | None, city: str | None, year: int | None, lang: str) -> str | None:
    if status in ("closed", "locked"):
        return t(f"period.{status}", lang, city=city, year=year)
    return None


def _check_open(store: Storage, city: str, year: int) -> None:
    status = store.period_status(city, year)
    if status in ("closed", "locked"):
        raise PeriodClosed(f"period.{status}", city=city, year=year)


def save_draft(
    store: Storage,
    user: User,
    city: str,
    opd: str,
    year: int,
    rows: Iterable[Mapping[str, object]],
    lang: str = "id",
) -> Outcome:
    """Save the form as the OPD's draft (one per OPD and year) and say what would block submitting.

    The answers are checked by the ingest rules, but a draft is kept even when they fail them,
    so that no typing is lost; only submitting requires a clean form. Refused outright: another
    OPD's draft (scope), a closed or locked year, an oversized payload.
    """
    require(user, Action.UPLOAD, city, opd)
    _framework(store, year)
    _city_opd(store, city, opd)
    _check_open(store, city, year)
    answers = _answers_of(rows)
    payload = json.dumps(
        {"format": DRAFT_FORMAT, "answers": {k: list(v) for k, v in answers.items()}}, ensure_ascii=False
    )
    if len(payload.encode("utf-8")) > MAX_DRAFT_BYTES:
        raise ValidationError("entry.draft_too_large", limit=MAX_DRAFT_BYTES)
    data, codes = form_csv(city, opd, year, answers)
    parsed = ingest.parse_upload(data, _form_file(city, opd, year), ingest.load_context(store))
    answered = sum(1 for lv, _, _ in answers.values() if lv != "")
    with store.transaction() as cur:
        status = store.period_status(city, year, cur)  # re-checked inside the write
        if status in ("closed", "locked"):
            raise PeriodClosed(f"period.{status}", city=city, year=year)
        store.save_draft(cur, city, opd, year, payload, user.username)
        store.write_audit(
            cur,
            user,
            "draft.save",
            f"draft:{city}/{opd}/{year}",
            None,
            {"answered": answered, "problems": len(parsed.result.problems)},
        )
    problems = [p for p in parsed.result.problems if p.key != "file.no_rows"]
    return Outcome(
        "saved",
        parsed.result.file,
        "assessment",
        problems,
        row_codes=codes,
        answered=answered,
        errors=errors_file(problems, parsed.result.file, lang),
    )


def discard_draft(store: Storage, user: User, city: str, opd: str, year: int) -> bool:
    """Delete the OPD's draft (the form goes back to the submission in force). Audited."""
    require(user, Action.UPLOAD, city, opd)
    if store.get_draft(city, opd, year) is None:
        return False
    with store.transaction() as cur:
        store.delete_draft(cur, city, opd, year)
        store.write_audit(cur, user, "draft.delete", f"draft:{city}/{opd}/{year}")
    return True


def submit(
    store: Storage,
    user: User,
    city: str,
    opd: str,
    year: int,
    rows: Iterable[Mapping[str, object]] | None = None,
    lang: str = "id",
    mode: str | None = None,
) -> Outcome:
    """Submit the form (saved first when `rows` is given) exactly as an upload of its CSV would be.

    Accepted: a new submission in force, the draft removed. Refused: every problem by indicator,
    nothing stored, the draft kept. A form that would drop answers from the version in force
    (levels emptied) is stored only with `mode`, as an upload is: status "choose" otherwise.
    """
    require(user, Action.UPLOAD, city, opd)
    _check_open(store, city, year)  # refused the same way with or without new rows (store_parsed re-checks)
    if rows is not None:
        save_draft(store, user, city, opd, year, rows, lang)
    draft, _, _ = _draft_answers(store, city, opd, year)
    if draft is None:
        raise ValidationError("entry.no_draft")
    answers = {code: (_level_cell(lv), _clean(ev), _clean(nt)) for code, (lv, ev, nt) in draft.items()}
    data, codes = form_csv(city, opd, year, answers)
    parsed = ingest.parse_upload(data, _form_file(city, opd, year), ingest.load_context(store, user))

    def clear_draft(cur: Cursor, ids: list[int]) -> None:
        # in the submission's own transaction: the draft goes exactly when the submission stands
        store.delete_draft(cur, city, opd, year)
        store.write_audit(
            cur, user, "draft.submitted", f"draft:{city}/{opd}/{year}", None, {"submissions": ids}
        )

    summaries = _store_one(store, user, parsed, "form", clear_draft, mode)
    r = parsed.result
    out = Outcome(
        r.status,
        r.file,
        r.kind or "assessment",
        list(r.problems),
        list(r.submission_ids),
        summaries,
        row_codes=codes,
        errors=None if r.accepted else errors_file(r.problems, r.file, lang),
        mode=r.mode,
        changes=dict(r.changes),
    )
    batch = _choice_batch(parsed)
    if batch is not None:
        out.status, out.preview, out.errors = "choose", _preview(store, user, r.file, batch, lang), None
    return out


# ------------------------------------------------------------------------------ history and diffs


@dataclass(frozen=True)
class History:
    city_code: str
    opd_code: str | None
    year: int | None
    versions: pd.DataFrame  # id, kind, opd_code, opd_name, year, metric_code, file_name, username,
    #                          accepted_at, source, n_rows, in_force
    city_name: str = ""

    @property
    def ids(self) -> list[int]:
        return [int(i) for i in self.versions["id"]]

    def comparable(self, sid: int) -> list[int]:
        """Versions `sid` can be compared with (same OPD, kind and metric; any year), newest first."""
        v = self.versions
        r = v.loc[v["id"] == sid]
        if r.empty:
            return []
        r = r.iloc[0]
        same = (v["kind"] == r["kind"]) & (v["opd_code"] == r["opd_code"]) & (v["id"] != sid)
        if isinstance(r["metric_code"], str):
            same &= v["metric_code"] == r["metric_code"]
        return [int(i) for i in v.loc[same, "id"]]

    def label(self, sid: int) -> str:
        """How a version is named in a picker: #id · OPD · year · [metric] · file · when."""
        r = self.versions.loc[self.versions["id"] == sid]
        if r.empty:
            return f"#{sid}"
        r = r.iloc[0]
        # a service metric is named by its code; a self-assessment needs no word (and none to translate)
        metric = r["metric_code"] if isinstance(r["metric_code"], str) and r["metric_code"] else None
        when = (
            pd.Timestamp(r["accepted_at"]).strftime("%Y-%m-%d %H:%M") if not missing(r["accepted_at"]) else ""
        )
        star = " ✓" if bool(r["in_force"]) else ""
        parts = [f"#{sid}", str(r["opd_code"]), str(r["year"]), metric, _clean(r["file_name"]), when]
        return " · ".join(p for p in parts if p) + star


def history(
    store: Storage, user: User, city: str, opd: str | None = None, year: int | None = None
) -> History:
    """Every submission of the OPD (or, outside the OPD role, of the city), newest first."""
    require(user, Action.READ_SUBMISSIONS, city, opd)
    df = store.submissions_frame(city, opd, year)
    df = df.drop(columns=["sha256", "city_code"]).reset_index(drop=True)
    name = next((c.name for c in store.cities() if c.city_code == city), city)
    return History(city, opd, year, df, name)


@dataclass(frozen=True)
class Version:
    id: int
    kind: str
    city_code: str
    opd_code: str
    year: int
    file_name: str | None
    username: str
    accepted_at: object
    source: str
    rows: pd.DataFrame
    original: DownloadFile | None  # the file as uploaded (kept by SHA-256), when it was kept


def _meta(store: Storage, user: User, sid: int) -> SubmissionMeta:
    meta = store.submission(int(sid))
    if meta is None:
        raise ValidationError("entry.no_version", id=sid)
    require(user, Action.READ_SUBMISSIONS, meta.city_code, meta.opd_code)
    return meta


def version(store: Storage, user: User, sid: int) -> Version:
    """One stored submission: its rows and the original file, if the reader may see that OPD."""
    meta = _meta(store, user, sid)
    rows = store.submission_rows(meta.id)
    original = None
    if meta.sha256:
        content = store.file_content(meta.sha256)
        if content is not None:
            name = meta.file_name or f"submission_{meta.id}"
            mime = (
                CSV_MIME
                if name.lower().endswith(".csv")
                else ODS_MIME
                if sniff(content) == "ods"
                else XLSX_MIME
            )
            original = DownloadFile(name, content, mime)
    return Version(
        meta.id,
        meta.kind,
        meta.city_code,
        meta.opd_code,
        meta.year,
        meta.file_name,
        meta.username,
        meta.accepted_at,
        meta.source,
        rows,
        original,
    )


def diff(store: Storage, user: User, old_id: int, new_id: int) -> pd.DataFrame:
    """What changed between two submissions of the same OPD (and metric): one row per key.

    Assessments are keyed by indicator (level, evidence, note compared); service metrics by
    period (value compared). `change` is added | removed | changed | same.
    """
    a, b = _meta(store, user, old_id), _meta(store, user, new_id)
    if (a.kind, a.city_code, a.opd_code, a.metric_code) != (b.kind, b.city_code, b.opd_code, b.metric_code):
        raise ValidationError("entry.diff_mismatch", old=a.id, new=b.id)
    # cast: _meta found both, and a submission is kept forever
    ra = cast(pd.DataFrame, store.submission_rows(a.id))
    rb = cast(pd.DataFrame, store.submission_rows(b.id))
    if a.kind == "assessment":
        key, fields = "indicator_code", ["level", "evidence", "note"]
    else:
        key, fields = "period", ["value"]
    ra = ra.drop(columns=["source_row"]).drop_duplicates(key).set_index(key)
    rb = rb.drop(columns=["source_row"]).drop_duplicates(key).set_index(key)
    out = []
    for k in sorted(set(ra.index) | set(rb.index)):
        old = ra.loc[k] if k in ra.index else None
        new = rb.loc[k] if k in rb.index else None
        row: dict[str, object] = {"key": k}
        for f in fields:
            row[f"{f}_old"] = None if old is None else _none(old[f])
            row[f"{f}_new"] = None if new is None else _none(new[f])
        if old is None:
            row["change"] = "added"
        elif new is None:
            row["change"] = "removed"
        else:
            row["change"] = "same" if all(row[f"{f}_old"] == row[f"{f}_new"] for f in fields) else "changed"
        out.append(row)
    cols = ["key", "change"] + [f"{f}_{w}" for f in fields for w in ("old", "new")]
    return pd.DataFrame(out, columns=cols)


def _none(v: object) -> object:
    # numpy scalar -> python and pandas' empty markers -> None: comparisons and display are plain
    return editor_value(v)


# ------------------------------------------------------------------------------ the upload page


@dataclass(frozen=True)
class UploadContext:
    """What the upload and form pages need before the operator does anything."""

    city_code: str | None
    year: int | None
    framework_id: str | None
    status: str | None  # the period of (city, year)
    opds: tuple[tuple[str, str], ...]  # (code, name) the user may upload for in the city
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)  # per OPD: metric code, unit, ...
    max_bytes: int = DEFAULT_LIMITS.max_bytes

    @property
    def open(self) -> bool:
        return self.status == "open"

    def closed_message(self, lang: str = "id") -> str | None:
        return _period_message(self.status, self.city_code, self.year, lang)

    def metrics_for(self, opd: str) -> pd.DataFrame:
        """The service metrics `opd` reports (what its metric template lists)."""
        return self.metrics[self.metrics["opd_code"] == opd].drop(columns=["opd_code"]).reset_index(drop=True)

    def opd_name(self, opd: str) -> str:
        return dict(self.opds).get(opd, opd)


def upload_context(
    store: Storage, user: User, city: str | None, year: int | None, lang: str = "id"
) -> UploadContext:
    """The OPDs `user` may submit for in `city`, the year's status and the service metrics they report."""
    if user.role == "opd":
        city = user.city_code
    if city is None or year is None:
        return UploadContext(city, year, None, None, ())
    require(user, Action.UPLOAD, city, user.opd_code if user.role == "opd" else None)
    fw = framework_for_year(loaded_frameworks(store), year)
    opds = [o for o in store.opds(city) if user.role != "opd" or o.opd_code == user.opd_code]
    rows = []
    if fw is not None:
        for o in opds:
            for ind in indicators_of(store, fw, o):
                if ind.metric:
                    m = ind.metric
                    rows.append(
                        {
                            "opd_code": o.opd_code,
                            "metric_code": m.code,
                            "indicator": ind.code,
                            "name": pick(ind.name, lang),
                            "unit": m.unit,
                            "aggregate": m.aggregate,
                            "direction": m.direction,
                            "thresholds": ", ".join(f"{x:g}" for x in m.thresholds),
                        }
                    )
    metrics = pd.DataFrame(
        rows,
        columns=[
            "opd_code",
            "metric_code",
            "indicator",
            "name",
            "unit",
            "aggregate",
            "direction",
            "thresholds",
        ],
    )
    return UploadContext(
        city,
        year,
        fw.id if fw else None,
        store.period_status(city, year),
        tuple((o.opd_code, o.name) for o in opds),
        metrics,
    )
