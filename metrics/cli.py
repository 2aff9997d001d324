"""`python -m metrics`: the operator's command line over the same core the dashboard uses.

Exit codes: 0 success, 1 when any input was rejected (or a check failed), 2 usage errors.
A write the database could not complete (a full disk) is one sentence, never a traceback: exit 1
when nothing of it was stored (safe to run again), exit 0 with the warning on stderr when it was
stored and only the checkpoint after it failed (running again would store duplicate versions).
Heavy modules are imported inside the commands that need them so that a quick command such
as `score --json` starts fast.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from metrics.auth import ROLES
from metrics.i18n import DEFAULT_LANG, t

if TYPE_CHECKING:
    from tqdm import tqdm

    from metrics.auth import User
    from metrics.ingest import IngestResult
    from metrics.storage import Storage
    from metrics.store import Store
    from metrics.transfer import CopyReport


# the licences `publish --license` offers (metrics.opendata.LICENSES; kept here so --help starts fast)
PUBLISH_LICENSES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "ODC-By-1.0", "ODbL-1.0")


class DatabaseUnreachable(Exception):
    """A database that cannot be opened (PostgreSQL's connection errors): one sentence, no
    traceback, no password."""

    def __init__(self, db: str, exc: BaseException) -> None:
        from urllib.parse import unquote, urlsplit

        from metrics.store.pg import redacted

        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        password = urlsplit(db).password if "://" in db else None
        for secret in {password, unquote(password or "")} - {None, ""}:
            detail = detail.replace(str(secret), "***")
        self.db = redacted(db) if "://" in db else db
        self.detail = detail[:300]
        super().__init__(f"{self.db}: {self.detail}")

    def message(self, lang: str) -> str:
        return t("cli.db_error", lang, db=self.db, detail=self.detail)


def _reachable(db: str | None) -> None:
    """A PostgreSQL setting is tried once before the store's pool opens (which would retry for
    30 s): a wrong host, port, database or password is reported at once."""
    from metrics.store import resolve_db_path
    from metrics.store.pg import is_postgres
    from metrics.store.pg.connection import probe

    url = resolve_db_path(db)
    if is_postgres(url):
        try:
            probe(url)
        except Exception as exc:
            raise DatabaseUnreachable(url, exc) from None


def _open_store(args: argparse.Namespace) -> Store:
    from metrics.store import Store, StoreBusy

    _reachable(args.db)
    try:
        return Store(args.db)
    except StoreBusy as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None


def _acting_user(store: Storage, args: argparse.Namespace) -> User:
    from metrics.auth import SYSTEM
    from metrics.users import get_user

    name = getattr(args, "user", None)
    if not name:
        return SYSTEM
    user = get_user(store, name)
    if user is None:
        print(t("user.unknown", args.lang, name=name), file=sys.stderr)
        raise SystemExit(2)
    return user


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def cmd_init(args: argparse.Namespace) -> int:
    from metrics import demo
    from metrics.auth import DEMO_PASSWORD, SYSTEM
    from metrics.framework import DEFAULT_FRAMEWORK_PATH
    from metrics.governance import load_framework_text
    from metrics.store import resolve_db_path

    path = resolve_db_path(args.db)
    if path != ":memory:" and Path(path).exists():
        if args.if_missing:
            print(f"OK: {path} (sudah ada / already exists)")
            return 0
        if not args.force:
            print(f"{path} sudah ada / already exists (use --force to replace it)", file=sys.stderr)
            return 1
        Path(path).unlink()
        Path(path + ".wal").unlink(missing_ok=True)
        Path(path + ".audit-head").unlink(missing_ok=True)  # the new log starts a new head (same key)
    store = _open_store(args)
    from metrics.store.pg import is_postgres

    if is_postgres(path) and any(store.counts()[t] for t in ("frameworks", "audit")):
        # a PostgreSQL store "exists" once it holds anything; --force never empties it from here
        # (a national store's data: the database administrator drops or creates databases)
        store.close()
        if args.if_missing:
            print(f"OK: {store.path} (sudah ada / already exists)")
            return 0
        print(t("cli.init_pg_not_empty", args.lang, db=store.path), file=sys.stderr)
        return 1
    if args.demo:
        summary = demo.install(store)
        print(json.dumps(summary, ensure_ascii=False))
        print(f"demo password: {DEMO_PASSWORD}")
    else:
        # no account, so no password anyone knows: the operator creates the first admin
        load_framework_text(store, SYSTEM, DEFAULT_FRAMEWORK_PATH.read_text(encoding="utf-8"))
    store.checkpoint()
    print(f"OK: {path}")
    if not args.demo:
        print(t("cli.init_no_accounts", args.lang))
    return 0


def cmd_framework(args: argparse.Namespace) -> int:
    from metrics.errors import ValidationError
    from metrics.governance import load_framework_text

    store = _open_store(args)
    try:
        fw, seq = load_framework_text(
            store, _acting_user(store, args), Path(args.file).read_text(encoding="utf-8")
        )
    except ValidationError as exc:
        print(f"{args.file}: {exc.message(args.lang)}", file=sys.stderr)
        return 1
    print(f"OK: {fw.id} (applies_from {fw.applies_from}, {len(fw.indicators)} indicators, seq {seq})")
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    from metrics.errors import Rejected, ValidationError
    from metrics.governance import load_registry_bytes

    store = _open_store(args)
    user = _acting_user(store, args)
    status = 0
    for f in args.files:
        try:
            kind, added, updated = load_registry_bytes(store, user, Path(f).read_bytes(), Path(f).name)
            print(f"{f}: OK {kind}: +{added} ~{updated}")
        except Rejected as exc:
            status = 1
            for p in exc.problems:
                print(f"{f}: {p.message(args.lang)}", file=sys.stderr)
        except ValidationError as exc:
            status = 1
            print(f"{f}: {exc.message(args.lang)}", file=sys.stderr)
    return status


def cmd_survey(args: argparse.Namespace) -> int:
    from metrics import formatting
    from metrics.errors import Rejected
    from metrics.surveys import SurveyMapping, import_survey, read_survey_table, suggest_mapping

    store = _open_store(args)
    user = _acting_user(store, args)
    path = Path(args.file)
    data = path.read_bytes()
    questions = tuple(q.strip() for q in args.question_columns.split(",")) if args.question_columns else None
    mapping = None
    if not (args.programme_column and questions):
        try:
            mapping = suggest_mapping(store, args.city, read_survey_table(data, path.name))
        except Rejected as exc:
            print(f"{path}: {t('cli.rejected', args.lang)}")
            for p in exc.problems:
                print(f"  - {p.render(args.lang)}")
            return 1
    programme = args.programme_column or (mapping.programme_column if mapping else None)
    questions = questions or (mapping.question_columns if mapping else None)
    if not programme or not questions:
        print(t("survey.cli_no_mapping", args.lang), file=sys.stderr)
        return 1
    mapping = SurveyMapping(programme, questions)
    print(t("survey.cli_mapping", args.lang, programme=programme, questions=", ".join(questions)))
    r = import_survey(store, user, args.city, args.year, data, path.name, mapping, source="cli")
    if not r.accepted:
        print(f"{path}: {t('cli.rejected', args.lang)}")
        for p in r.problems:
            print(f"  - {p.render(args.lang)}")
        return 1
    print(
        f"{path}: "
        + t(
            "survey.cli_accepted",
            args.lang,
            upload=r.upload_id,
            rows=r.rows,
            respondents=sum(p.respondents for p in r.programmes),
            programmes=len(r.programmes),
            min=r.min_respondents,
        )
    )
    floor = r.min_respondents
    for prog in r.programmes:
        mean, impact = (formatting.number(x, args.lang) for x in (prog.mean_answer, prog.impact))
        short = "" if prog.sufficient else "  " + t("survey.cli_insufficient", args.lang, min=floor)
        head = f"  {prog.code} {prog.name} ({prog.owner_opd})"
        print(f"{head}: n={prog.respondents} mean={mean} impact={impact}{short}")
    return 0


class _ProgressBar:
    """`progress(done, total)` for ingest_paths, drawn with tqdm on the terminal's stderr."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                unit={"id": " berkas", "en": " files"}[self.lang],
                file=sys.stderr,
                dynamic_ncols=True,
                leave=False,
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _ingest_lines(r: IngestResult, lang: str) -> list[str]:
    """One file's outcome as lines of text: the form scripts have read since the first release."""
    if r.accepted:
        extra = f" (delimiter '{r.delimiter}')" if r.delimiter else ""
        if r.mode:
            extra += " ({} {}: {})".format(
                "mode", r.mode, ", ".join(f"{k} {v}" for k, v in r.changes.items())
            )
        return [f"{r.file}: {t('cli.accepted', lang)}, {r.rows} rows, submissions {r.submission_ids}{extra}"]
    if r.status == "not_stored":
        return [f"{r.file}: {t('store.not_stored', lang)}"]
    lines = [f"{r.file}: {t('cli.rejected', lang)}"]
    for p in r.problems:
        lines.append(f"  - {p.render(lang)}")
        if p.key == "file.drops_answers":
            lines.append(f"    {t('cli.choose_mode', lang)}")
    return lines


def cmd_ingest(args: argparse.Namespace) -> int:
    from metrics import formatting
    from metrics.ingest import ingest_paths
    from metrics.store import StorageFailed

    store = _open_store(args)
    user = _acting_user(store, args)
    failure = None
    started = time.monotonic()
    # a progress bar only for a person watching: never in a pipe, a log or CI
    bar = _ProgressBar(args.lang) if sys.stdout.isatty() and sys.stderr.isatty() else None
    try:
        results = ingest_paths(store, user, args.files, mode=args.mode, progress=bar)
    except StorageFailed as exc:  # the database could not write: say what is stored, no traceback
        failure, results = exc, exc.results or []
        if not exc.stored:  # valid files of the transaction that failed: not stored, not refused
            for r in results:
                if not r.accepted and not r.problems:
                    r.status = "not_stored"
    finally:
        if bar is not None:
            bar.close()
    summary = t(
        "cli.ingest_summary",
        args.lang,
        files=len(results),
        accepted=sum(r.accepted for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        versions=sum(len(r.submission_ids) for r in results),
        seconds=formatting.number(time.monotonic() - started, args.lang, digits=1),
    )
    not_stored = sum(r.status == "not_stored" for r in results)
    if not_stored:
        summary += " " + t("cli.ingest_not_stored", args.lang, n=not_stored)
    blocks = [(r.accepted, _ingest_lines(r, args.lang)) for r in results]
    if args.log:  # every file's lines, the accepted ones too
        with open(args.log, "w", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for _ok, block in blocks for line in block)
            fh.write(summary + "\n")
    if args.json:
        print(json.dumps([r.to_dict(args.lang) for r in results], ensure_ascii=False, indent=1))
    else:
        # thousands of files: only what needs a person's attention, then one line for the batch
        for ok, block in blocks:
            if not ok:
                print("\n".join(block))
        print(summary)
        if args.log:
            print(t("cli.ingest_log", args.lang, path=args.log))
    if failure is not None:
        print(failure.message(args.lang), file=sys.stderr)
        if not failure.stored:
            if any(r.accepted for r in results):
                print(t("store.batch_stopped", args.lang), file=sys.stderr)
            return 1
        # stored, only the checkpoint failed: exit as if it had not (a script that retries on a
        # non-zero exit would store every file a second time)
    return 0 if all(r.accepted for r in results) else 1


def cmd_score(args: argparse.Namespace) -> int:
    from metrics import scoring
    from metrics.i18n import pick

    store = _open_store(args)
    if args.check:
        diffs = scoring.recomputation_differences(store, [args.year])
        for d in diffs[:50]:
            print(d, file=sys.stderr)
        if diffs:
            print(
                f"SCORES DIFFER from a recomputation from the raw rows: {len(diffs)} differences",
                file=sys.stderr,
            )
            return 1
        n = len(scoring.score(store, [args.year]))
        print(f"OK: {n} stored city scores for {args.year} equal a recomputation from the raw rows")
        return 0
    scores = scoring.score(store, [args.year], args.city)
    if args.city:
        scores = [s for s in scores if s.city_code == args.city]
    ranked = scoring.competition_ranks([(s.city_code, s.index) for s in scores])
    order = {code: n for n, (code, _, _) in enumerate(ranked)}
    scores.sort(key=lambda s: order[s.city_code])
    if args.json:
        from metrics import methods
        from metrics.loaded_frameworks import loaded_frameworks

        fw_ids = sorted({s.framework_id for s in scores})
        # per dimension its method and, for the programmes and survey methods, what they counted
        fws = {seq: fw for fw, seq in loaded_frameworks(store)}
        inputs = methods.method_inputs_by_city(
            store, _acting_user(store, args), args.year, args.city, args.lang
        )
        counted = {c: {m.code: m.to_json() for m in items} for c, items in inputs.items()}

        def with_methods(s: scoring.CityScore) -> dict[str, object]:
            dims = fws[s.fw_seq].dimensions if s.fw_seq in fws else ()
            got = counted.get(s.city_code, {})
            methods_ = {d.code: {"method": d.method, "inputs": got.get(d.code)} for d in dims}
            return {**s.to_json(), "dimension_methods": methods_}

        print(
            json.dumps(
                {
                    "framework": fw_ids[0] if len(fw_ids) == 1 else fw_ids,
                    "year": args.year,
                    "cities": [with_methods(s) for s in scores],
                },
                ensure_ascii=False,
            )
        )
        return 0
    if not scores:
        print({"id": "Tidak ada data untuk tahun ini.", "en": "No data for this year."}[args.lang])
        return 0
    names = {c.city_code: c.name for c in store.cities()}
    ranks = {code: rank for code, _, rank in ranked}
    print(f"{'#':>3}  {'kode':<6} {'kota':<28} {'indeks':>6}  {'kelengkapan':>11}  kategori")
    for s in scores:
        print(
            f"{ranks[s.city_code] or '-':>3}  {s.city_code:<6} {names.get(s.city_code, '')[:28]:<28} "
            f"{_fmt(s.index):>6}  {_fmt((s.completeness or 0) * 100, 0) + '%':>11}  "
            f"{pick(s.band.label, args.lang) if s.band else '-'}"
        )
    print(f"framework: {scores[0].framework_id}; scale 0-4; missing indicators count as 0")
    return 0


def cmd_rank(args: argparse.Namespace) -> int:
    from metrics import scoring

    store = _open_store(args)
    if args.by == "city":
        items = [(s.city_code, s.index) for s in scoring.score(store, [args.year], args.city)]
    else:
        items = [
            (o.opd_code if args.city else f"{o.city_code}/{o.opd_code}", o.index)
            for o in scoring.opd_scores(store, args.year, args.city)
        ]
    ranked = scoring.competition_ranks(items)
    if args.json:
        print(json.dumps([{"code": c, "index": v, "rank": r} for c, v, r in ranked], ensure_ascii=False))
    else:
        for c, v, r in ranked:
            print(f"{r or '-':>4}  {c:<12} {_fmt(v)}")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from metrics.auth import Action, require
    from metrics.framework import framework_for_year
    from metrics.loaded_frameworks import loaded_frameworks
    from metrics.templates import build_template

    if args.programmes:  # the city's programme register workbook, not an OPD's
        from metrics.programmes import programme_template

        store = _open_store(args)
        data = programme_template(store, _acting_user(store, args), args.city, args.lang)
        Path(args.output).write_bytes(data)
        print(f"OK: {args.output}")
        return 0
    if args.opd is None or args.year is None:
        print(t("programme.cli_template_args", args.lang), file=sys.stderr)
        return 2
    store = _open_store(args)
    user = _acting_user(store, args)
    require(user, Action.TEMPLATE, args.city, args.opd)
    fw = framework_for_year(loaded_frameworks(store), args.year)
    city = next((c for c in store.cities() if c.city_code == args.city), None)
    opd = store.opd_map().get((args.city, args.opd))
    if fw is None or city is None or opd is None:
        print(
            t("cell.unknown_opd", args.lang, value=args.opd, city=args.city)
            if city
            else t("cell.unknown_city", args.lang, value=args.city),
            file=sys.stderr,
        )
        return 1
    Path(args.output).write_bytes(build_template(fw, city, opd, args.year))
    print(f"OK: {args.output}")
    return 0


def cmd_programmes(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from metrics import programmes as pg
    from metrics.errors import Rejected, ValidationError

    store = _open_store(args)
    user = _acting_user(store, args)
    try:
        if args.programmes_cmd == "load":
            path = Path(args.file)
            res = pg.load_programmes_file(store, user, args.city, path.read_bytes(), path.name, source="cli")
            n, version = res.programmes, res.version_id
            print(t("programme.cli_loaded", args.lang, file=path.name, n=n, version=version))
            return 0
        if args.programmes_cmd == "export":
            fmt = args.format or ("csv" if args.output.lower().endswith(".csv") else "xlsx")
            Path(args.output).write_bytes(pg.export_programmes(store, user, args.city, fmt))
            print(f"OK: {args.output}")
            return 0
        if args.year is None:
            reg = pg.register(store, user, args.city)
            if args.json:
                print(json.dumps([asdict(p) for p in reg], ensure_ascii=False, default=str))
            elif not reg:
                print(t("programme.cli_none", args.lang, city=args.city))
            for prog in reg if not args.json else ():
                cols = f"{prog.code:<10} {prog.kind:<10} {prog.pillar:<10} {prog.opd_code:<6}"
                print(cols, f"{prog.start_year}-{prog.end_year}", prog.name)
            return 0
        board = pg.board(store, user, args.city, args.year, args.lang)
        if args.json:
            cells = [
                {k: v for k, v in asdict(c).items() if k != "rows"} | {"share": c.share} for c in board.cells
            ]
            rows = [r.to_dict() for r in board.rows]
            out = {"city": board.city, "year": board.year, "framework": board.framework_id, "cells": cells}
            print(json.dumps(out | {"programmes": rows}, ensure_ascii=False))
            return 0
        for c in board.cells:
            print(
                f"{c.pillar:<8} {c.kind:<10} planned {c.planned:>3}  running {c.running:>3}  "
                f"stalled {c.stalled:>3}  budget {c.budget}"
            )
        for row in board.rows:
            print(f"  {'!' if row.stalled else ' '} {row.code:<10} {row.status:<13} {row.opd:<6} {row.name}")
        return 0
    except Rejected as exc:
        for problem in exc.problems:
            print(problem.render(args.lang), file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return 1


def _read_new_password(args: argparse.Namespace) -> str:
    """The new password: one line of stdin with --password-stdin or when stdin is not a terminal
    (scripts), else typed twice without echo. Never an argument: it would show in `ps` and history."""
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    pw = getpass.getpass(t("cli.password_prompt", args.lang))
    if pw != getpass.getpass(t("cli.password_repeat", args.lang)):
        print(t("cli.passwords_differ", args.lang), file=sys.stderr)
        raise SystemExit(2)
    return pw


def cmd_user(args: argparse.Namespace) -> int:
    from metrics import users
    from metrics.errors import CoreError

    store = _open_store(args)
    actor = _acting_user(store, args)
    try:
        if args.user_cmd == "add":
            u = users.add_user(
                store,
                actor,
                args.name,
                _read_new_password(args),
                args.role,
                args.city,
                args.opd,
                args.display_name or "",
            )
            print(f"OK: {u.username} ({u.role})")
        elif args.user_cmd == "passwd":
            users.set_password(store, actor, args.name, _read_new_password(args))
            print("OK")
        elif args.user_cmd == "disable":
            users.update_user(store, actor, args.name, active=False)
            print("OK")
        elif args.user_cmd == "unlock":
            code, expires = users.issue_unlock_code(store, actor, args.name)
            print(code)
            print(t("user.unlock_issued", args.lang, name=args.name, until=f"{expires:%Y-%m-%d %H:%M} UTC"))
        else:
            df = users.list_users(store, actor)
            for r in df.itertuples():
                # a missing city or OPD comes back from the frame as NaN, which is truthy
                city = r.city_code if isinstance(r.city_code, str) and r.city_code else "*"
                opd = r.opd_code if isinstance(r.opd_code, str) else ""
                print(
                    f"{r.username:<20} {r.role:<10} {city:<6} {opd:<4} {'aktif' if r.active else 'nonaktif'}"
                )
    except CoreError as exc:
        print(exc.message(args.lang), file=sys.stderr)
        return 1
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from metrics.reports import export

    store = _open_store(args)
    fmt = "xlsx" if args.output.lower().endswith(".xlsx") else "csv"
    Path(args.output).write_bytes(
        export(store, _acting_user(store, args), args.year, args.city, fmt, args.lang)
    )
    print(f"OK: {args.output}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    import duckdb

    from metrics.audit import verify_store
    from metrics.store import Store, StoreBusy

    _reachable(args.db)
    try:  # read-only: a check must not make a missing key or rewrite the head it checks against
        store = Store(args.db, read_only=True)
    except (StoreBusy, duckdb.Error) as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 1
    rep = verify_store(store)  # every finding is a sentence; a dropped table too
    if not rep.ok:
        print("AUDIT CHAIN BROKEN", file=sys.stderr)
        for line in rep.problems(args.lang):
            print(f"  - {line}", file=sys.stderr)
        for line in rep.notes(args.lang):
            print(f"  ({line})", file=sys.stderr)
        return 1
    print(f"OK: {rep.rows} audit rows, chain intact")
    print(
        t(
            "audit.ok",
            args.lang,
            rows=rep.rows,
            keyed=rep.keyed,
            legacy=rep.legacy,
            head=rep.head.short() if rep.head else "-",
        )
    )
    for line in rep.notes(args.lang):
        print(f"  ({line})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from metrics.backup import make_backup

    store = _open_store(args)
    info = make_backup(store, _acting_user(store, args), args.output)
    print(
        f"OK: {args.output} ({info['bytes']} bytes, sha256 {info['sha256'][:16]}…; "
        f"audit head {info['audit_head'].short()})"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from metrics.backup import restore_backup
    from metrics.errors import CoreError
    from metrics.store import resolve_db_path
    from metrics.store.pg import is_postgres

    if is_postgres(resolve_db_path(args.db)):  # built and checked as a file, then copied in
        from metrics.transfer import restore_into

        _reachable(args.db)
        restored, copied = restore_into(args.file, resolve_db_path(args.db), foreign=args.foreign)
        _print_copy(copied, args.lang)
        print(f"OK: {copied.target} ({restored.counts.get('submissions', 0)} submissions)")
        return 0 if copied.ok else 1
    try:
        rep = restore_backup(args.file, args.db, force=args.force, foreign=args.foreign)
    except CoreError as exc:  # every refusal is one sentence; the live database is untouched
        print(exc.message(args.lang), file=sys.stderr)
        return 1
    print(
        f"OK: {rep.path} ({rep.counts.get('submissions', 0)} submissions, audit {rep.audit.rows} rows"
        f"{', imported as FOREIGN (audited)' if rep.foreign else ''}; {rep.seconds:.1f} s)"
    )
    if rep.moved_aside:
        print(f"the previous database was kept as {rep.moved_aside}")
    return 0


def _print_copy(rep: CopyReport, lang: str) -> None:
    """The checksum report: one line per table, then what was done and the target's audit log."""
    head = [t(f"copy.col.{c}", lang) for c in ("table", "rows", "source", "target", "ok")]
    rows = [
        [
            c.table,
            str(c.source_rows) if c.ok else f"{c.source_rows}/{c.target_rows}",
            c.source_sum,
            c.target_sum,
            "OK" if c.ok else "BEDA" if lang == "id" else "DIFFERS",
        ]
        for c in rep.tables
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(
                v.rjust(w) if i == 1 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    seconds = f"{rep.seconds:.1f}"
    if rep.merged:
        cities = ", ".join(rep.cities if rep.copied else rep.present) or "-"
        key = "copy.merged" if rep.copied else "copy.merged_nothing"
        print(
            t(
                key,
                lang,
                cities=cities,
                source=rep.source,
                target=rep.target,
                seconds=seconds,
                key_id=rep.key_id,
            )
        )
        if rep.skipped_users:
            print(t("copy.users_skipped", lang, users=", ".join(rep.skipped_users)))
    elif rep.cities:  # one city out (transfer.extract_city)
        print(
            t(
                "copy.extracted",
                lang,
                cities=rep.cities[0],
                source=rep.source,
                target=rep.target,
                seconds=seconds,
                key_id=rep.key_id,
            )
        )
    elif rep.copied:
        print(
            t("copy.copied", lang, source=rep.source, target=rep.target, seconds=seconds, key_id=rep.key_id)
        )
    else:
        print(t("copy.unchanged", lang, seconds=seconds))
    differ = [c.table for c in rep.tables if not c.ok]
    if differ:
        print(t("copy.not_equal", lang, tables=", ".join(differ)), file=sys.stderr)
    if rep.audit.ok:
        print(t("copy.audit_ok", lang, rows=rep.audit.rows, key_id=rep.key_id))
    else:
        print(t("copy.audit_bad", lang), file=sys.stderr)
        for line in rep.audit.problems(lang):
            print(f"  - {line}", file=sys.stderr)


def cmd_copy(args: argparse.Namespace) -> int:
    from metrics.store import StoreBusy
    from metrics.transfer import copy_store

    _reachable(args.source)
    _reachable(args.target)
    try:
        if args.city:
            from metrics.transfer import extract_city

            rep = extract_city(args.source, args.target, args.city)
        else:
            rep = copy_store(args.source, args.target)
    except StoreBusy as exc:
        print(str(exc), file=sys.stderr)
        return 1
    _print_copy(rep, args.lang)
    return 0 if rep.ok else 1


def cmd_remind(args: argparse.Namespace) -> int:
    """Send today's deadline reminders (or, with --dry-run, list them) through the [smtp] settings of
    --smtp-config (default .streamlit/secrets.toml) or the SMARTCITY_SMTP_* environment."""
    from datetime import date

    from metrics.deadlines import read_smtp_settings, send_reminders

    store = _open_store(args)
    smtp = read_smtp_settings(args.smtp_config)
    today = date.fromisoformat(args.today) if args.today else None
    out = send_reminders(
        store,
        _acting_user(store, args),
        args.year,
        smtp,
        [args.city] if args.city else None,
        today=today,
        dry_run=args.dry_run,
        lang=args.lang,
    )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "city": r.city_code,
                        "opd": r.opd_code,
                        "stage": r.stage,
                        "to": r.recipient,
                        "sent": r.sent,
                        "skipped": r.skipped,
                    }
                    for r in out
                ],
                ensure_ascii=False,
            )
        )
    else:
        for r in out:
            print(
                f"{r.city_code}/{r.opd_code} {r.stage} -> {r.recipient or '-'}: "
                f"{'sent' if r.sent else 'not sent (' + r.skipped + ')'}"
            )
        if smtp is None and not args.dry_run:
            print(
                "no SMTP server configured ([smtp] in the settings file or SMARTCITY_SMTP_HOST): nothing sent"
            )
        print(f"OK: {sum(r.sent for r in out)} sent, {sum(not r.sent for r in out)} not sent")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """The cheapest tasks per OPD to reach a target; exit 0 when reachable, 3 when not."""
    from metrics import targets
    from metrics.formatting import number, plain

    store = _open_store(args)
    user = _acting_user(store, args)
    if args.index is not None:
        target = targets.Target("index", targets.index_value(args.index))
    elif args.band is not None:
        target = targets.Target("band", args.band)
    else:
        target = targets.Target("rank", args.rank, args.within)
    result = targets.plan(store, user, args.city, args.year, target, args.lang)
    if args.json:
        print(json.dumps(targets.plan_json(result), ensure_ascii=False, default=str))
        return 0 if result.reachable else 3
    lang = args.lang
    print(
        t(
            "target.cli.header",
            lang,
            city=f"{result.city_code} {result.city_name}",
            year=result.year,
            needed=number(result.needed_index, lang, 4),
            start=number(result.start_index, lang, 4),
        )
    )
    if result.held:
        print(result.held)
    for opd, moves in targets.by_opd(result, lang).items():
        print(f"\n{opd}")
        for m in moves:
            if m.kind == "programme":
                from_to = m.target_text
            else:
                from_to = f"{plain(m.from_level, lang)} → {m.to_level}: {m.target_text}"
            print(
                "  "
                + t(
                    "target.cli.task",
                    lang,
                    code=m.code,
                    name=m.name,
                    from_to=from_to,
                    effort=plain(m.effort, lang),
                    after=number(m.index_after, lang, 4),
                )
            )
    for note in result.notes:
        print(f"\n{note}")
    effort, unit = plain(result.total_effort, lang), result.effort_unit
    if not result.moves and result.reachable:
        print("\n" + t("target.cli.already", lang))
    elif result.reachable:
        final = number(result.final_index, lang, 4)
        n = len(result.moves)
        print("\n" + t("target.cli.reachable", lang, n=n, effort=effort, unit=unit, final=final))
    else:
        best = number(result.final_index, lang, 4)
        n = len(result.moves)
        print("\n" + t("target.cli.unreachable", lang, best=best, n=n, effort=effort, unit=unit))
    return 0 if result.reachable else 3


def cmd_effort(args: argparse.Namespace) -> int:
    """Set the effort of raising an indicator to a level (or the unit efforts count in)."""
    from metrics import efforts

    store = _open_store(args)
    user = _acting_user(store, args)
    if args.effort_cmd == "unit":
        efforts.set_effort_unit(store, user, args.city, args.year, args.unit)
        print(f"OK: {args.unit}")
        return 0
    value = None if args.clear else args.value
    if value is None and not args.clear:
        print("--value or --clear", file=sys.stderr)
        return 2
    change = efforts.EffortChange(args.indicator, args.level, value)
    n = efforts.set_efforts(store, user, args.city, args.year, [change])
    print(t("effort.cli.saved", args.lang, n=n))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from metrics.opendata import publish

    store = _open_store(args)
    user = _acting_user(store, args)
    written = publish(store, user, args.year, args.output, args.lang, license=args.license)
    for w in written:
        print(f"{w.path}  {w.size} bytes  sha256 {w.sha256}")
    print(t("opendata.cli.written", args.lang, n=len(written), year=args.year, folder=args.output))
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    """Every city's index, band and rank of a year under a candidate framework, beside today's."""
    from metrics.errors import ValidationError
    from metrics.formatting import number, signed
    from metrics.whatif import whatif

    store = _open_store(args)
    lang = args.lang
    try:
        result = whatif(
            store, _acting_user(store, args), Path(args.file).read_text(encoding="utf-8"), args.year, lang
        )
    except ValidationError as exc:
        print(f"{args.file}: {exc.message(lang)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return 0

    def arrow(a: object, b: object) -> str:
        return f"{'-' if a is None else a} → {'-' if b is None else b}"

    heads = [t(f"whatif.cli.{k}", lang) for k in ("code", "city", "before", "after", "delta", "band", "rank")]
    print(
        f"{heads[0]:<6} {heads[1]:<24} {heads[2]:>7} {heads[3]:>7} {heads[4]:>7}  {heads[5]:<30} "
        f"{heads[6]:<9}  {t('whatif.cli.driver', lang)}"
    )
    for c in result.cities:
        print(
            f"{c.city_code:<6} {c.name[:24]:<24} {number(c.index_before, lang):>7} {number(c.index_after, lang):>7} "
            f"{signed(c.delta, lang):>7}  {arrow(c.band_before, c.band_after)[:30]:<30} "
            f"{arrow(c.rank_before, c.rank_after):<9}  {c.driver}"
        )
    print()
    print(t("whatif.cli.changes", lang, before=result.framework_before, after=result.framework_after))
    for change in result.changes or (t("whatif.cli.no_changes", lang),):
        print(f"  - {change}")
    ms = number(result.elapsed_ms, lang, 0)
    n = len(result.cities)
    print(t("whatif.cli.summary", lang, moved=result.moved, cities=n, year=result.year, ms=ms))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m metrics", description="Indeks Kota Cerdas")
    p.add_argument(
        "--db",
        help="DuckDB file or postgresql://user@host:port/db URL (default: $SMARTCITY_DB or data/smartcity.duckdb)",
    )
    p.add_argument("--lang", choices=("id", "en"), default=DEFAULT_LANG)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("init", help="create the database with the default framework")
    s.add_argument("--demo", action="store_true", help="add demo cities, history and users")
    s.add_argument("--force", action="store_true", help="replace an existing database file")
    s.add_argument("--if-missing", action="store_true", help="do nothing if the database exists")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("framework", help="load a framework YAML")
    s.add_argument("action", choices=("load",))
    s.add_argument("file")
    s.add_argument("--user")
    s.set_defaults(func=cmd_framework)

    s = sub.add_parser("registry", help="load cities, OPDs or population-by-year CSV files")
    s.add_argument("action", choices=("load",))
    s.add_argument("files", nargs="+")
    s.add_argument("--user")
    s.set_defaults(func=cmd_registry)

    s = sub.add_parser("survey", help="import a citizen survey export (Google Forms, KoboToolbox, XLSX/CSV)")
    s.add_argument("action", choices=("load",))
    s.add_argument("file")
    s.add_argument("--city", required=True)
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--programme-column", help="the column naming the programme (default: remembered/guessed)")
    s.add_argument("--question-columns", help="the 1-5 answer columns, comma-separated (default: likewise)")
    s.add_argument("--user")
    s.set_defaults(func=cmd_survey)

    s = sub.add_parser("ingest", help="ingest self-assessment / service-metric files or folders")
    s.add_argument("files", nargs="+")
    s.add_argument("--user")
    s.add_argument("--json", action="store_true")
    s.add_argument("--log", metavar="FILE", help="write every file's outcome (accepted ones too) to FILE")
    s.add_argument(
        "--mode",
        choices=("merge", "replace"),
        help="for a file that answers fewer indicators (or periods) than the version in force: "
        "merge = its answers on top of the version in force, replace = the file is the whole "
        "answer set; without it such a file is refused",
    )
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("score", help="city scores for a year")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--city")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--check",
        action="store_true",
        help="check that the stored scores equal a recomputation from the raw answer rows",
    )
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("rank", help="rank cities or OPDs")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--by", choices=("city", "opd"), default="city")
    s.add_argument("--city")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_rank)

    s = sub.add_parser(
        "template", help="write an OPD's pre-filled workbook (--opd, --year) or the programme register's"
    )
    s.add_argument("--city", required=True)
    s.add_argument("--opd")
    s.add_argument("--year", type=int)
    s.add_argument("--programmes", action="store_true", help="the city's programme register workbook")
    s.add_argument("-o", "--output", "--out", dest="output", required=True)
    s.add_argument("--user")
    s.set_defaults(func=cmd_template)

    s = sub.add_parser("programmes", help="the city's masterplan and quick-win programme register")
    ps = s.add_subparsers(dest="programmes_cmd", required=True)
    a = ps.add_parser("load", help="load the register from a filled programme template (a new version)")
    a.add_argument("file")
    a.add_argument("--city", required=True)
    a.add_argument("--user")
    a = ps.add_parser("list", help="the register in force, or with --year that year's board")
    a.add_argument("--city", required=True)
    a.add_argument("--year", type=int)
    a.add_argument("--json", action="store_true")
    a.add_argument("--user")
    a = ps.add_parser("export", help="write the register in force to .xlsx or .csv")
    a.add_argument("--city", required=True)
    a.add_argument("-o", "--out", "--output", dest="output", required=True)
    a.add_argument("--format", choices=("xlsx", "csv"), help="default: from the file name, else xlsx")
    a.add_argument("--user")
    s.set_defaults(func=cmd_programmes)

    s = sub.add_parser(
        "user",
        help="manage users; `user add NAME --role admin` creates the first admin of a new database "
        "(password typed twice, or one line of stdin with --password-stdin or when not a terminal)",
    )
    us = s.add_subparsers(dest="user_cmd", required=True)
    a = us.add_parser("add")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--city")
    a.add_argument("--opd")
    a.add_argument("--display-name")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    a = us.add_parser("passwd")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    a = us.add_parser("disable")
    a.add_argument("name")
    a = us.add_parser("unlock", help="print a one-time code that lets NAME past the sign-in throttle once")
    a.add_argument("name")
    us.add_parser("list")
    s.add_argument("--user")
    s.set_defaults(func=cmd_user)

    s = sub.add_parser("export", help="export a year's numbers to .xlsx or .csv")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--city")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--user")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser(
        "remind", help="e-mail today's deadline reminders to OPDs (N days before/after the deadline)"
    )
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--city")
    s.add_argument("--dry-run", action="store_true", help="list what would be sent; send nothing")
    s.add_argument(
        "--smtp-config",
        default=".streamlit/secrets.toml",
        help="TOML file with an [smtp] table (default .streamlit/secrets.toml); else SMARTCITY_SMTP_*",
    )
    s.add_argument("--today", help="the date to act as (YYYY-MM-DD; default: today in each city)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--user")
    s.set_defaults(func=cmd_remind)

    s = sub.add_parser(
        "audit", help="check the audit log: keyed hash chain and the head kept outside the database"
    )
    s.add_argument("action", choices=("verify",))
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("backup", help="write a checksummed backup of the whole database")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--user")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser(
        "restore",
        help="restore a backup into --db (must not exist unless --force; the replaced "
        "file is kept as <db>.before-restore-<time>)",
    )
    s.add_argument("file")
    s.add_argument("--force", action="store_true")
    s.add_argument(
        "--foreign",
        action="store_true",
        help="accept a backup not signed with this installation's key (recorded in the audit log)",
    )
    s.set_defaults(func=cmd_restore)

    s = sub.add_parser(
        "copy",
        help="copy a whole database between a DuckDB file and a postgresql:// store (either way) "
        "with its installation key and a checksum report per table; into a postgresql:// store "
        "serving other cities the source's cities are merged (renumbered, audit rows re-chained); "
        "a city whose data differs in the target is never overwritten",
    )
    s.add_argument("--from", dest="source", required=True, metavar="FILE.duckdb|postgresql://…")
    s.add_argument("--to", dest="target", required=True, metavar="postgresql://…|FILE.duckdb")
    s.add_argument(
        "--city",
        help="copy only this city out of a postgresql:// store into a new DuckDB file "
        "(its audit log starts with a copy.export row)",
    )
    s.set_defaults(func=cmd_copy)

    s = sub.add_parser(
        "publish",
        help="write the open-data package of a published year (CSV, JSON, Frictionless datapackage.json) "
        "into a new or empty folder (or a previous package's, whose files are replaced)",
    )
    s.add_argument("--year", type=int, required=True)
    s.add_argument("-o", "--output", required=True, help="the folder (created when missing)")
    s.add_argument("--license", default="CC-BY-4.0", choices=PUBLISH_LICENSES)
    # --lang after the command too (when not given here, the global one stays)
    s.add_argument("--lang", choices=("id", "en"), default=argparse.SUPPRESS)
    s.add_argument("--user")
    s.set_defaults(func=cmd_publish)

    s = sub.add_parser(
        "plan",
        help="the cheapest tasks per OPD that reach a target index, band or rank "
        "(exit 0 reachable, 3 not reachable: the best reachable index is printed)",
        description="Exit codes: 0 the target is reachable (or already reached), 3 it is not "
        "(the tasks to the best reachable index are listed), 1 refused, 2 usage.",
    )
    s.add_argument("--city", required=True)
    s.add_argument("--year", type=int, required=True)
    goal = s.add_mutually_exclusive_group(required=True)
    goal.add_argument("--index", help="the index to reach (3.5 or 3,5)")
    goal.add_argument("--band", help="the band to reach: its label (id or en) or 1-based position")
    goal.add_argument("--rank", type=int, help="the rank to reach or better (other cities held)")
    s.add_argument("--within", choices=("national", "province", "category"), default="national")
    s.add_argument("--json", action="store_true")
    s.add_argument("--user")
    s.set_defaults(func=cmd_plan)

    s = sub.add_parser("effort", help="set the effort of raising an indicator one level (planner or its OPD)")
    es = s.add_subparsers(dest="effort_cmd", required=True)
    a = es.add_parser("set", help="the effort of raising --indicator to --level")
    a.add_argument("--city", required=True)
    a.add_argument("--year", type=int, required=True)
    a.add_argument("--indicator", required=True)
    a.add_argument("--level", type=int, required=True)
    a.add_argument("--value", type=float)
    a.add_argument("--clear", action="store_true", help="remove the effort (the step costs 1 again)")
    a.add_argument("--user")
    a = es.add_parser("unit", help="the unit the city's efforts count in: langkah, hari or rupiah")
    a.add_argument("--city", required=True)
    a.add_argument("--year", type=int, required=True)
    a.add_argument("unit", choices=("langkah", "hari", "rupiah"))
    a.add_argument("--user")
    s.set_defaults(func=cmd_effort)
    s = sub.add_parser(
        "whatif",
        help="preview a candidate framework on every city of a year (index, band, rank before and "
        "after, and why) without loading it",
    )
    s.add_argument("file", help="the candidate framework YAML (its applies_from is ignored)")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--json", action="store_true")
    s.add_argument("--lang", choices=("id", "en"), default=argparse.SUPPRESS)
    s.add_argument("--user")
    s.set_defaults(func=cmd_whatif)
    return p


def main(argv: list[str] | None = None) -> int:
    from metrics.errors import CoreError
    from metrics.store import CheckpointFailed

    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func  # set by each sub-parser
    try:
        return command(args)
    except CheckpointFailed as exc:  # the write is stored (see cmd_ingest): a warning, exit 0
        print(exc.message(args.lang), file=sys.stderr)
        return 0
    except (CoreError, DatabaseUnreachable) as exc:  # refusals, locked periods, a database
        print(exc.message(args.lang), file=sys.stderr)  # that cannot be reached: no traceback
        return 1
    except Exception as exc:  # PostgreSQL lost mid-command: one sentence too (no password)
        if not _connection_lost(exc):
            raise
        from metrics.store import resolve_db_path

        print(DatabaseUnreachable(resolve_db_path(args.db), exc).message(args.lang), file=sys.stderr)
        return 1


def _connection_lost(exc: BaseException) -> bool:
    """psycopg's OperationalError (and the pool's timeout, a subclass): the server is gone or
    refuses us, as opposed to a bug, which keeps its traceback."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError)
