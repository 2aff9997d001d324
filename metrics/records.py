"""Records that the ingest side builds and the store keeps: neutral types both import.

They live outside the store so that parsing (metrics.ingest, worker processes) and storage
agree on one shape without ingest importing the store's SQL or the store importing ingest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class SubmissionMeta:
    id: int
    kind: str
    city_code: str
    opd_code: str
    year: int
    metric_code: str | None
    file_name: str | None
    sha256: str | None
    username: str
    accepted_at: datetime
    source: str
    n_rows: int


class SubmissionLike(Protocol):
    """What a batch takes from one parsed submission (metrics.ingest.Submission)."""

    @property
    def kind(self) -> str: ...  # "assessment" | "metric"
    @property
    def city_code(self) -> str: ...
    @property
    def opd_code(self) -> str: ...
    @property
    def year(self) -> int: ...
    @property
    def metric_code(self) -> str | None: ...
    @property
    def fw_seq(self) -> int | None: ...
    @property
    def rows(self) -> Sequence[Any]:
        """Assessment rows (indicator_code, level, evidence, note, source_row) or metric rows
        (period, value, source_row), by kind."""
        ...


class NaRow(Protocol):
    """An assessment answer "tidak berlaku" (not applicable): the indicator and the OPD's reason."""

    @property
    def indicator_code(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def source_row(self) -> int | None: ...


def na_rows_of(sub: SubmissionLike) -> Sequence[NaRow]:
    """The not-applicable answers of an assessment submission (`na_rows`, absent: none)."""
    rows: Sequence[NaRow] = getattr(sub, "na_rows", ())
    return rows


@dataclass
class SubmissionBatch:
    """Submissions and their rows as columns: the shape many files are inserted in at once.

    `a_sub`/`m_sub` give each assessment/metric row the position of its submission in the
    batch. Columns pickle and extend cheaply, so a national batch parsed in worker processes
    reaches the store without a Python object per answer row.
    """

    # one entry per submission
    kind: list[str] = field(default_factory=list)
    city_code: list[str] = field(default_factory=list)
    opd_code: list[str] = field(default_factory=list)
    year: list[int] = field(default_factory=list)
    metric_code: list[str | None] = field(default_factory=list)
    fw_seq: list[int | None] = field(default_factory=list)
    file_name: list[str | None] = field(default_factory=list)
    sha256: list[str | None] = field(default_factory=list)
    n_rows: list[int] = field(default_factory=list)
    # one entry per assessment answer
    a_sub: list[int] = field(default_factory=list)
    a_code: list[str] = field(default_factory=list)
    a_level: list[int] = field(default_factory=list)
    a_evidence: list[str | None] = field(default_factory=list)
    a_note: list[str | None] = field(default_factory=list)
    a_row: list[int | None] = field(default_factory=list)
    # one entry per service-metric value
    m_sub: list[int] = field(default_factory=list)
    m_period: list[str] = field(default_factory=list)
    m_value: list[float] = field(default_factory=list)
    m_row: list[int | None] = field(default_factory=list)
    # one entry per not-applicable answer (issue 17): an assessment row without a level
    n_sub: list[int] = field(default_factory=list)
    n_code: list[str] = field(default_factory=list)
    n_reason: list[str] = field(default_factory=list)
    n_row: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, sub: SubmissionLike, file_name: str | None, sha256: str | None) -> None:
        """Append one ingest.Submission (kind, codes, year, fw_seq, metric_code, rows)."""
        k = len(self.kind)
        rows = sub.rows
        na = na_rows_of(sub) if sub.kind == "assessment" else ()
        if sub.kind == "assessment":
            codes = [r.indicator_code for r in rows]
            if len(set(codes) | {r.indicator_code for r in na}) != len(codes) + len(na):
                # scoring counts answer rows as (OPD, indicator) pairs; ingest refuses such files
                raise ValueError(
                    f"submission {sub.city_code}/{sub.opd_code}/{sub.year} answers an indicator twice"
                )
            self.a_sub.extend([k] * len(rows))
            self.a_code.extend(codes)
            self.a_level.extend([r.level for r in rows])
            self.a_evidence.extend([r.evidence for r in rows])
            self.a_note.extend([r.note for r in rows])
            self.a_row.extend([r.source_row for r in rows])
            self.n_sub.extend([k] * len(na))
            self.n_code.extend([r.indicator_code for r in na])
            self.n_reason.extend([r.reason for r in na])
            self.n_row.extend([r.source_row for r in na])
        else:
            self.m_sub.extend([k] * len(rows))
            self.m_period.extend([r.period for r in rows])
            self.m_value.extend([r.value for r in rows])
            self.m_row.extend([r.source_row for r in rows])
        self.kind.append(sub.kind)
        self.city_code.append(sub.city_code)
        self.opd_code.append(sub.opd_code)
        self.year.append(sub.year)
        self.metric_code.append(sub.metric_code)
        self.fw_seq.append(sub.fw_seq)
        self.file_name.append(file_name)
        self.sha256.append(sha256)
        self.n_rows.append(len(rows) + len(na))

    def extend(self, other: SubmissionBatch) -> None:
        off = len(self.kind)
        for name in (
            "kind",
            "city_code",
            "opd_code",
            "year",
            "metric_code",
            "fw_seq",
            "file_name",
            "sha256",
            "n_rows",
            "a_code",
            "a_level",
            "a_evidence",
            "a_note",
            "a_row",
            "m_period",
            "m_value",
            "m_row",
            "n_code",
            "n_reason",
            "n_row",
        ):
            getattr(self, name).extend(getattr(other, name))
        self.a_sub.extend([k + off for k in other.a_sub] if off else other.a_sub)
        self.m_sub.extend([k + off for k in other.m_sub] if off else other.m_sub)
        self.n_sub.extend([k + off for k in other.n_sub] if off else other.n_sub)


# --------------------------------------------------------------------------- programme register (issue 17)
# Statuses a programme has in a year; a year with no status recorded counts as `direncanakan`.
PROGRAMME_STATUSES = ("direncanakan", "berjalan", "selesai", "dihentikan")
RUNNING_STATUSES = ("berjalan", "selesai")  # what the programmes method counts as executed
STOPPED_STATUS = "dihentikan"  # with a reason; left out of the count once an assessor accepts it
BUDGET_SOURCES = ("APBD", "APBN", "mitra")  # regional and national budgets, and partners


@dataclass(frozen=True)
class ProgrammeBudget:
    year: int
    source: str  # one of BUDGET_SOURCES
    amount: int  # whole Rupiah


@dataclass(frozen=True)
class ProgrammeStatus:
    year: int
    status: str  # one of PROGRAMME_STATUSES
    reason: str | None = None  # why it stopped (required for `dihentikan`)
    reason_accepted: bool = False  # an assessor accepted the reason for stopping
    evidence: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    # an assessor has judged the reason (accepted or not): a reason still waiting is not decided
    reason_decided: bool = False


@dataclass(frozen=True)
class Programme:
    """One masterplan or quick-win programme of a city, as one version of its register holds it."""

    code: str
    name: str
    pillar: str  # a pillar or sub-pillar code of the framework
    kind: str  # masterplan | quickwin (metrics.framework.PROGRAMME_KINDS)
    opd_code: str  # the owning OPD
    start_year: int
    end_year: int
    indicator_codes: tuple[str, ...] = ()
    budgets: tuple[ProgrammeBudget, ...] = ()
    statuses: tuple[ProgrammeStatus, ...] = ()
    source_row: int | None = None

    def status_in(self, year: int) -> ProgrammeStatus | None:
        return next((s for s in self.statuses if s.year == year), None)


@dataclass(frozen=True)
class ProgrammeVersion:
    id: int
    city_code: str
    created_at: datetime
    username: str
    change: str  # load | edit | status | reason
    file_name: str | None
    sha256: str | None
    note: str | None


# --------------------------------------------------------------------------- citizen impact survey (issue 17)
SURVEY_MIN_ANSWER, SURVEY_MAX_ANSWER = 1, 5  # the answers' scale; impact = mean answer - 1 (0..4)


@dataclass(frozen=True)
class SurveyQuestion:
    question: str  # the column header as the form tool exported it
    answers: int
    answer_sum: float


@dataclass(frozen=True)
class SurveyProgramme:
    """One surveyed programme's aggregated answers: no respondent's row is kept."""

    programme_code: str
    respondents: int  # rows with at least one answer
    answers: int
    answer_sum: float
    owner_opd: str | None  # the programme's owning OPD, recorded as taking part
    questions: tuple[SurveyQuestion, ...] = ()


@dataclass(frozen=True)
class SurveyUpload:
    id: int
    city_code: str
    year: int
    file_name: str | None
    sha256: str | None
    username: str
    accepted_at: datetime
    source: str  # upload | cli | demo
    n_rows: int
    mapping: str | None  # the column mapping used, as JSON


# --------------------------------------------------------------------------- evidence (issue 18)
EVIDENCE_KINDS = ("file", "link")


@dataclass(frozen=True)
class EvidenceItem:
    """A file or a link an OPD gave as evidence in a year; it may back several answers."""

    id: int
    city_code: str
    opd_code: str
    year: int
    kind: str  # file | link
    sha256: str | None  # file: its content's SHA-256 (evidence_blobs)
    url: str | None  # link: https only
    original_name: str | None
    mime: str | None  # file: the type its content was checked to be
    size: int | None
    flags: str | None  # what the checks found worth telling the assessor (comma-separated)
    uploaded_by: str
    uploaded_at: datetime


# --------------------------------------------------------------------------- clarification (issue 18)
# An answer's state in the assessors' loop: filled in a draft, submitted, clarification asked,
# answered by the OPD, verified. The first two come from drafts and submissions; the rest from
# the answer's clarification requests and verification.
ANSWER_STATES = ("diisi", "diajukan", "perlu_klarifikasi", "dijawab", "terverifikasi")
CLARIFICATION_STATUSES = ("open", "answered", "closed")
CLARIFICATION_OUTCOMES = ("accepted", "verified", "rejected")


@dataclass(frozen=True)
class ClarificationEvent:
    id: int
    clarification_id: int
    kind: str  # asked | answered | closed | reopened
    text: str | None
    item_ids: tuple[int, ...]  # evidence given with it
    submission_id: int | None  # a new version of the answer given with it
    username: str
    happened_at: datetime


@dataclass(frozen=True)
class Clarification:
    id: int
    city_code: str
    year: int
    indicator_code: str
    opd_code: str | None  # None: every OPD responsible for the indicator
    message: str
    due: date | None
    status: str  # one of CLARIFICATION_STATUSES
    asked_by: str
    asked_at: datetime
    closed_by: str | None = None
    closed_at: datetime | None = None
    outcome: str | None = None  # one of CLARIFICATION_OUTCOMES once closed
    verified_level: int | None = None
    close_note: str | None = None
    events: tuple[ClarificationEvent, ...] = ()


# --------------------------------------------------------------------------- interviews (issue 18)
@dataclass(frozen=True)
class Interview:
    """An assessors' interview session with some OPDs of a city (time in the city's time zone)."""

    id: int
    city_code: str
    starts_at: datetime  # naive, the city's local wall time
    minutes: int
    place: str | None
    video_link: str | None
    opd_codes: tuple[str, ...]
    indicator_codes: tuple[str, ...]
    notes: str | None
    cancelled: bool
    created_by: str
    created_at: datetime
    updated_by: str | None = None
    updated_at: datetime | None = None
