"""Deadlines of the national evaluation's stages, who is on time, the overdue list and reminders.

Why: a year used to be only open/closed/locked, so nobody saw that a date was coming or had
passed. The administrator now sets, per year, the self-assessment deadline and the verification
deadline: once for every city (a row for city '*', by a national administrator) with a city's own
row overriding it (so a city administrator can set theirs). Everything that asks "on time?" —
the OPD home's countdown, Kelengkapan's on-time / late / not yet and the city's on-time rate, the
Sekretaris Daerah's overdue list ("daftar tunggakan", PDF and XLSX), and the e-mail reminders —
reads `opd_statuses` here, so the rule is stated once:

* a deadline date counts to the end of that day in the city's local time (WIB unless the
  registry gives the city a time zone);
* an OPD is on time when the version in force of its answers (its latest accepted submission)
  was accepted by the deadline, late when after, "not yet" when it has none;
* an OPD is overdue when the deadline has passed and it has not answered every indicator it is
  responsible for (metrics.responsibility), however late it submitted what it did;
* the city's on-time rate is the share of its responsible OPDs that are on time.

Reminders go only to the e-mail address the OPD registry holds for the OPD, through the SMTP
server the caller passes in (the core never reads Streamlit secrets or the environment; the CLI
and the dashboard read their settings and hand them over); with no settings nothing is sent.
Each reminder is sent once per OPD, year and stage ("before-7", "after-1", ...) and audited.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from metrics import reports, scoring
from metrics.auth import Action, User, require
from metrics.errors import PermissionDenied, ValidationError
from metrics.framework import framework_for_year
from metrics.i18n import t
from metrics.loaded_frameworks import loaded_frameworks
from metrics.responsibility import answered_sets, responsibility

if TYPE_CHECKING:
    from metrics.storage import Storage

DEFAULT_TZ = "Asia/Jakarta"  # WIB; a city's own zone when the registry has one (issue 15, point 9)
ALL_CITIES = "*"
MAX_MISSING_LISTED = 200  # codes listed per OPD on the overdue list; a framework has ~60-120


# ------------------------------------------------------------------------------ the deadline


@dataclass(frozen=True)
class Deadline:
    city_code: str
    year: int
    self_due: date | None = None  # self-assessment (OPD answers) due, inclusive
    verify_due: date | None = None  # assessor verification due, inclusive
    scope: str = "none"  # "city" (the city's own row), "all" (every city's row) or "none"

    def days_left(self, today: date) -> int | None:
        """Days until the self-assessment deadline (0 on the day, negative once passed)."""
        return None if self.self_due is None else (self.self_due - today).days

    def verify_days_left(self, today: date) -> int | None:
        return None if self.verify_due is None else (self.verify_due - today).days


def _zone(store: Storage, city: str) -> ZoneInfo:
    c = next((c for c in store.cities() if c.city_code == city), None)
    name = getattr(c, "tz", None) or DEFAULT_TZ  # the registry's zone (else the province's), else WIB
    try:
        return ZoneInfo(name)
    except Exception:
        return ZoneInfo(DEFAULT_TZ)


def city_today(store: Storage, city: str, now: datetime | None = None) -> date:
    """Today's date where the city is (deadlines are dates there, not in UTC)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(_zone(store, city)).date()


def cutoff_utc(store: Storage, city: str, due: date) -> datetime:
    """The last moment of `due` in the city, as naive UTC (how submissions' accepted_at is kept)."""
    local = datetime.combine(due + timedelta(days=1), time(0), tzinfo=_zone(store, city))
    return local.astimezone(UTC).replace(tzinfo=None)


def deadline(store: Storage, city: str, year: int) -> Deadline:
    """The deadlines in force for a city-year: its own row, else the every-city row, else none."""
    rows = store.deadline_rows(city, year)
    if not rows:
        return Deadline(city, year)
    code, self_due, verify_due, _at, _by = rows[0]
    return Deadline(city, year, self_due, verify_due, "all" if code == ALL_CITIES else "city")


def as_date(value: object, name: str) -> date | None:
    """A date typed or picked (date, datetime, ISO text), None for blank; else a ValidationError
    naming `name`."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError("deadline.bad_date", field=name, value=str(value)[:40]) from None


def set_deadline(
    store: Storage,
    user: User,
    city: str | None,
    year: int,
    self_due: date | str | None = None,
    verify_due: date | str | None = None,
) -> Deadline:
    """Set (or, with both dates None, remove) a year's deadlines for one city, or for every city
    when `city` is None (a national administrator only). Returns the deadline in force before.
    Audited; a locked year refuses (its stages are over)."""
    from metrics.governance import _check_year, check_city  # the same year/city rules as periods

    require(user, Action.PERIOD, city)
    if city is None and user.city_code is not None:
        raise PermissionDenied("perm.denied", role=user.role, action=Action.PERIOD.value, scope=" (*)")
    year = _check_year(year)
    if city is not None:
        check_city(store, city)
    s, v = as_date(self_due, "self_due"), as_date(verify_due, "verify_due")
    if s and v and v < s:
        raise ValidationError("deadline.order", self_due=s.isoformat(), verify_due=v.isoformat())
    code = ALL_CITIES if city is None else city
    with store.transaction() as cur:
        rows = [r for r in store.deadline_rows(code, year, cur) if r[0] == code]
        before = (
            {
                "self_due": rows[0][1].isoformat() if rows and rows[0][1] else None,
                "verify_due": rows[0][2].isoformat() if rows and rows[0][2] else None,
            }
            if rows
            else None
        )
        if s is None and v is None:
            store.delete_deadline_row(cur, code, year)
        else:
            store.set_deadline_row(cur, code, year, s, v, user.username)
        store.write_audit(
            cur,
            user,
            "deadline.set",
            f"deadline:{code}/{year}",
            before,
            {"self_due": s.isoformat() if s else None, "verify_due": v.isoformat() if v else None},
        )
    prev = before or {}
    return Deadline(
        code,
        year,
        as_date(prev.get("self_due"), "self_due"),
        as_date(prev.get("verify_due"), "verify_due"),
        "city" if rows else "none",
    )


# ------------------------------------------------------------------------------ who is on time


@dataclass(frozen=True)
class OpdStatus:
    opd_code: str
    name: str
    opd_type: str
    head_name: str | None
    email: str | None
    pairs: int  # indicators it is responsible for
    answered: int
    missing: tuple[str, ...]  # codes of the indicators it has not answered
    submitted_at: datetime | None  # when its version in force was accepted (naive UTC)
    submission_id: int | None
    timeliness: str  # "on_time" | "late" | "not_yet" | "submitted" (no deadline set)
    overdue: bool
    days_overdue: int | None

    @property
    def complete(self) -> bool:
        return self.answered >= self.pairs


@dataclass(frozen=True)
class CityStatus:
    city_code: str
    city_name: str
    year: int
    deadline: Deadline
    today: date
    opds: tuple[OpdStatus, ...]
    framework_id: str = ""

    @property
    def on_time_rate(self) -> float | None:
        """Share of responsible OPDs whose version in force was accepted by the deadline."""
        if self.deadline.self_due is None or not self.opds:
            return None
        return sum(1 for o in self.opds if o.timeliness == "on_time") / len(self.opds)

    @property
    def n_complete(self) -> int:
        return sum(1 for o in self.opds if o.complete)

    @property
    def overdue(self) -> tuple[OpdStatus, ...]:
        """Overdue OPDs, the least answered first (what the Sekretaris Daerah chases first)."""
        return tuple(
            sorted(
                (o for o in self.opds if o.overdue), key=lambda o: (o.answered / max(o.pairs, 1), o.opd_code)
            )
        )

    @property
    def days_left(self) -> int | None:
        return self.deadline.days_left(self.today)


def opd_statuses(store: Storage, city: str, year: int, today: date | None = None) -> CityStatus | None:
    """Every responsible OPD of the city-year: answered, missing, on time, overdue (no access check:
    the callers below check who asks). None when the year has no framework."""
    fw = framework_for_year(loaded_frameworks(store), year)
    if fw is None:
        return None
    dl = deadline(store, city, year)
    today = today or city_today(store, city)
    opds = store.opds(city)
    resp = responsibility(store, fw, city, opds)
    got = answered_sets(store, fw, city, year)
    by_code = {o.opd_code: o for o in opds}
    last = {o.opd_code: o for o in scoring.opd_scores(store, year, city) if o.year == year}
    cut = cutoff_utc(store, city, dl.self_due) if dl.self_due else None
    passed = dl.self_due is not None and today > dl.self_due
    out = []
    for code, o in sorted(by_code.items()):
        mine = [i.code for i in resp.of_opd(fw, code)]
        if not mine:
            continue
        done = got.get(code, set())
        missing = tuple(c for c in mine if c not in done)
        sc = last.get(code)
        at = sc.last_upload if sc is not None else None  # a datetime from the store, or None
        if at is None:
            timeliness = "not_yet"
        elif cut is None:
            timeliness = "submitted"
        else:
            timeliness = "on_time" if at <= cut else "late"
        overdue = passed and bool(missing)
        out.append(
            OpdStatus(
                code,
                o.name,
                o.opd_type,
                o.head_name,
                o.email,
                len(mine),
                len(mine) - len(missing),
                missing,
                at,
                sc.submission_id if sc is not None and at is not None else None,
                timeliness,
                overdue,
                (today - dl.self_due).days if overdue and dl.self_due is not None else None,
            )
        )
    name = next((c.name for c in store.cities() if c.city_code == city), city)
    return CityStatus(city, name, year, dl, today, tuple(out), fw.id)


def city_status(
    store: Storage, user: User, city: str, year: int, today: date | None = None
) -> CityStatus | None:
    """opd_statuses for someone who may read the city's submissions (admin, executive, assessor)."""
    require(user, Action.READ_SUBMISSIONS, city)
    if user.role == "opd":  # an OPD operator sees its own OPD (metrics.home), not every agency's
        raise PermissionDenied(
            "perm.denied", role=user.role, action=Action.READ_SUBMISSIONS.value, scope=f" ({city})"
        )
    return opd_statuses(store, city, year, today)


# ------------------------------------------------------------------------------ the overdue list


@dataclass(frozen=True)
class OverdueFile:
    name: str
    data: bytes
    mime: str


def _overdue_rows(cs: CityStatus, lang: str) -> tuple[list[str], list[list[str | int | None]]]:
    header = [t(f"overdue.col.{k}", lang) for k in ("opd", "head", "answered", "missing", "days")]
    rows: list[list[str | int | None]] = []
    for o in cs.overdue:
        codes = ", ".join(o.missing[:MAX_MISSING_LISTED]) + (
            " …" if len(o.missing) > MAX_MISSING_LISTED else ""
        )
        rows.append([o.name, o.head_name or "–", f"{o.answered} / {o.pairs}", codes, o.days_overdue])
    return header, rows


_REQUEST_COLUMNS = ("code", "indicator", "opd_name", "due_text", "days_overdue", "asked_by")


def _request_rows(
    store: Storage, user: User, cs: CityStatus, lang: str
) -> tuple[list[str], list[list[str | int | None]]]:
    """The clarification requests past their due date (issue 18), as the list's second table."""
    from metrics import clarify  # clarify sends its notices through this module

    late = clarify.overdue_table(store, user, cs.city_code, cs.year, lang, cs.today)
    header = [t(f"overdue.request.col.{k}", lang) for k in _REQUEST_COLUMNS]
    return header, [[r[k] for k in _REQUEST_COLUMNS] for r in late.to_dict("records")]


def overdue_list(
    store: Storage,
    user: User,
    city: str,
    year: int,
    fmt: str = "pdf",
    lang: str = "id",
    today: date | None = None,
) -> OverdueFile:
    """The daftar tunggakan for the Sekretaris Daerah: each overdue OPD, its head, what is missing
    and how many days overdue, and the assessors' clarification requests past their due date;
    as PDF (printable) or XLSX (text neutralised). Audited (an export)."""
    require(user, Action.EXPORT, city)
    if fmt not in ("pdf", "xlsx"):
        raise ValueError(fmt)
    cs = city_status(store, user, city, year, today)
    if cs is None:
        raise ValidationError("cell.no_framework", value=year)
    header, rows = _overdue_rows(cs, lang)
    req_header, req_rows = _request_rows(store, user, cs, lang)
    if fmt == "xlsx":
        data = reports.tables_to_xlsx(
            [
                reports.TableOut(t("overdue.sheet", lang), header, rows),
                reports.TableOut(t("overdue.request.sheet", lang), req_header, req_rows),
            ]
        )
        mime = reports.XLSX_MIME
    else:
        data = _overdue_pdf(cs, header, rows, lang, (req_header, req_rows))
        mime = "application/pdf"
    name = f"tunggakan_{city}_{year}.{fmt}" if lang == "id" else f"overdue_{city}_{year}.{fmt}"
    with store.transaction() as cur:
        store.write_audit(
            cur,
            user,
            "export",
            f"overdue:{city}/{year}",
            None,
            {"format": fmt, "bytes": len(data), "opds": len(rows), "requests": len(req_rows)},
        )
    return OverdueFile(name, data, mime)


def _overdue_pdf(
    cs: CityStatus,
    header: list[str],
    rows: Sequence[Sequence[object]],
    lang: str,
    requests: tuple[list[str], Sequence[Sequence[object]]] = ([], []),
) -> bytes:
    from fpdf import FPDF

    from metrics.formatting import long_date
    from metrics.reportcard import NAVY, _font_paths, pdf_text, start_pdf

    fonts = _font_paths()

    txt = pdf_text(fonts)

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    family = start_pdf(pdf, fonts, txt(t("overdue.title", lang, city=cs.city_name, year=cs.year)))
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_margins(14, 14, 14)
    pdf.add_page()
    W = 297 - 28
    pdf.set_font(family, "B", 14)
    pdf.set_text_color(*NAVY)
    pdf.cell(
        W, 8, txt(t("overdue.title", lang, city=cs.city_name, year=cs.year)), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(family, "", 9.5)
    due = long_date(cs.deadline.self_due, lang) if cs.deadline.self_due else "–"
    pdf.multi_cell(
        W,
        5,
        txt(
            t(
                "overdue.intro",
                lang,
                due=due,
                today=long_date(cs.today, lang),
                n=len(rows),
                total=len(cs.opds),
            )
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    if not rows:
        pdf.multi_cell(W, 5, txt(t("overdue.none", lang)), new_x="LMARGIN", new_y="NEXT")
    else:
        widths = (70, 55, 24, W - 70 - 55 - 24 - 22, 22)
        with pdf.table(
            col_widths=widths,
            text_align=("LEFT", "LEFT", "CENTER", "LEFT", "CENTER"),
            line_height=5,
            first_row_as_headings=True,
        ) as table:
            pdf.set_font(family, "", 8.5)
            head = table.row()
            for h in header:
                head.cell(txt(h))
            for r in rows:
                row = table.row()
                for v in r:
                    row.cell(txt(v))
    req_header, req_rows = requests
    if req_rows:
        pdf.ln(4)
        pdf.set_font(family, "B", 11)
        pdf.cell(W, 7, txt(t("overdue.request.title", lang, n=len(req_rows))), new_x="LMARGIN", new_y="NEXT")
        with pdf.table(
            col_widths=(22, W - 22 - 55 - 34 - 20 - 30, 55, 34, 20, 30),
            text_align=("LEFT", "LEFT", "LEFT", "LEFT", "CENTER", "LEFT"),
            line_height=5,
            first_row_as_headings=True,
        ) as table:
            pdf.set_font(family, "", 8.5)
            head = table.row()
            for h in req_header:
                head.cell(txt(h))
            for r in req_rows:
                row = table.row()
                for v in r:
                    row.cell(txt(v))
    pdf.ln(6)
    pdf.set_font(family, "", 8)
    pdf.cell(W, 5, txt(t("overdue.footer", lang, fw=cs.framework_id, date=long_date(cs.today, lang))))
    return bytes(pdf.output())


# ------------------------------------------------------------------------------ reminders


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    starttls: bool = True
    days_before: tuple[int, ...] = (7, 1)
    days_after: tuple[int, ...] = (1, 7)

    @staticmethod
    def from_mapping(m: Mapping[str, Any] | None) -> SmtpSettings | None:
        """Settings from a `[smtp]` table (secrets.toml, a TOML file, or env read by the caller):
        host, port, user, password, from, starttls, days_before, days_after. None without a host."""
        if not m or not str(m.get("host") or "").strip():
            return None

        def days(v: Any, default: tuple[int, ...]) -> tuple[int, ...]:
            if v is None or v == "":
                return default
            if isinstance(v, str):
                v = [x for x in v.replace(";", ",").split(",") if x.strip()]
            return tuple(sorted({int(x) for x in v if int(x) >= 0}, reverse=True))

        tls = m.get("starttls", True)
        if isinstance(tls, str):
            tls = tls.strip().lower() not in ("0", "false", "no", "off")
        return SmtpSettings(
            str(m["host"]).strip(),
            int(m.get("port") or 587),
            m.get("user") or None,
            m.get("password") or None,
            str(m.get("from") or m.get("user") or ""),
            bool(tls),
            days(m.get("days_before"), (7, 1)),
            days(m.get("days_after"), (1, 7)),
        )


@dataclass(frozen=True)
class Reminder:
    city_code: str
    opd_code: str
    opd_name: str
    year: int
    stage: str  # "before-N" / "after-N"
    recipient: str | None  # the registry's address; None: the OPD has none (reported, not sent)
    subject: str
    body: str
    sent: bool = False
    skipped: str = ""  # why not sent: "no_email", "already_sent", "dry_run", "no_smtp"


def _stage(
    dl: Deadline, today: date, smtp_days_before: Collection[int], smtp_days_after: Collection[int]
) -> str | None:
    left = dl.days_left(today)
    if left is None:
        return None
    if left >= 0 and left in smtp_days_before:
        return f"before-{left}"
    if left < 0 and -left in smtp_days_after:
        return f"after-{-left}"
    return None


def due_reminders(
    store: Storage,
    city: str,
    year: int,
    today: date,
    days_before: Collection[int] = (7, 1),
    days_after: Collection[int] = (1, 7),
    lang: str = "id",
) -> list[Reminder]:
    """The reminders due today in a city: before the deadline to every responsible OPD that has
    not answered everything, after it to every overdue OPD. Not sent, not audited."""
    cs = opd_statuses(store, city, year, today)
    if cs is None:
        return []
    stage = _stage(cs.deadline, today, days_before, days_after)
    if stage is None:
        return []
    due = long_date_safe(cs.deadline.self_due, lang)
    out = []
    for o in cs.opds:
        if o.complete:
            continue
        key = "remind.before" if stage.startswith("before") else "remind.after"
        n = abs(cs.deadline.days_left(today) or 0)  # a stage means a deadline, so never None
        subject = t(f"{key}_subject", lang, year=year, due=due, n=n)
        body = t(
            f"{key}_body",
            lang,
            opd=o.name,
            city=cs.city_name,
            year=year,
            due=due,
            n=n,
            answered=o.answered,
            pairs=o.pairs,
            missing=", ".join(o.missing),
        )
        out.append(Reminder(city, o.opd_code, o.name, year, stage, o.email, subject, body))
    return out


def long_date_safe(d: date | None, lang: str) -> str:
    from metrics.formatting import long_date

    return long_date(d, lang) if d else "–"


def send_reminders(
    store: Storage,
    user: User,
    year: int,
    smtp: SmtpSettings | None,
    cities: list[str] | None = None,
    today: date | None = None,
    dry_run: bool = False,
    lang: str = "id",
) -> list[Reminder]:
    """Send the reminders due today (per city, in its local date) through `smtp`.

    Nothing is sent without settings or on a dry run (the list says what would be). Each mail goes
    only to the address the OPD registry holds for that OPD, once per OPD, year and stage; each
    one sent is recorded and audited in its own transaction, right after the server accepted it.
    """
    require(user, Action.PERIOD, user.city_code)
    codes = sorted(store.city_codes()) if cities is None else list(cities)
    out: list[Reminder] = []
    for city in codes:
        require(user, Action.PERIOD, city)
        day = today or city_today(store, city)
        if smtp is None:
            due = due_reminders(store, city, year, day, lang=lang)
        else:
            due = due_reminders(store, city, year, day, smtp.days_before, smtp.days_after, lang)
        registry = {o.opd_code: o.email for o in store.opds(city)}
        for r in due:
            if not r.recipient or registry.get(r.opd_code) != r.recipient:
                out.append(_replace(r, skipped="no_email"))
            elif store.reminder_sent(city, r.opd_code, year, r.stage):
                out.append(_replace(r, skipped="already_sent"))
            elif dry_run:
                out.append(_replace(r, skipped="dry_run"))
            elif smtp is None:
                out.append(_replace(r, skipped="no_smtp"))
            else:
                _send(smtp, r)
                with store.transaction() as cur:
                    store.add_reminder(cur, city, r.opd_code, year, r.stage, r.recipient)
                    store.write_audit(
                        cur,
                        user,
                        "reminder.sent",
                        f"opd:{city}/{r.opd_code}",
                        None,
                        {"year": year, "stage": r.stage, "to": r.recipient},
                    )
                out.append(_replace(r, sent=True))
    return out


def count_sent(reminders: list[Reminder]) -> int:
    return sum(1 for r in reminders if r.sent)


def _replace(r: Reminder, sent: bool = False, skipped: str = "") -> Reminder:
    from dataclasses import replace

    return replace(r, sent=sent, skipped=skipped)


def _send(smtp: SmtpSettings, r: Reminder) -> None:
    send_mail(smtp, r.recipient or "", r.subject, r.body)


def send_mail(smtp: SmtpSettings, to: str, subject: str, body: str) -> None:
    """One plain-text mail through the configured server: reminders and clarification notices."""
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as s:
        if smtp.starttls:
            s.starttls(context=ssl.create_default_context())
        if smtp.user and smtp.password:
            s.login(smtp.user, smtp.password)
        s.send_message(msg)


def read_smtp_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> SmtpSettings | None:
    """For the CLI: `[smtp]` of a TOML file (e.g. .streamlit/secrets.toml), else SMARTCITY_SMTP_*
    environment variables (HOST, PORT, USER, PASSWORD, FROM, STARTTLS, DAYS_BEFORE, DAYS_AFTER)."""
    import tomllib
    from pathlib import Path

    if path is not None and Path(path).is_file():
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        got = SmtpSettings.from_mapping(data.get("smtp"))
        if got is not None:
            return got
    env = os.environ if environ is None else environ
    m = {
        k.lower(): env[f"SMARTCITY_SMTP_{k}"]
        for k in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "STARTTLS", "DAYS_BEFORE", "DAYS_AFTER")
        if env.get(f"SMARTCITY_SMTP_{k}")
    }
    return SmtpSettings.from_mapping(m)
