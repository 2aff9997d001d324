"""The programme register: every version of each city's masterplan and quick-win programmes.

A change (a file loaded, the editor saved, an OPD's status update, an assessor accepting a
reason for stopping) writes a whole new version of the city's register; the version in force is
the newest. Registers are small (tens of programmes per city), so copying one costs nothing,
and every earlier state stays readable, like superseded submissions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from metrics.records import Programme, ProgrammeBudget, ProgrammeStatus, ProgrammeVersion
from metrics.store.connection import Connection, Cursor, scalar, utcnow

_PROGRAMME_COLUMNS = (
    "version_id",
    "code",
    "name",
    "pillar",
    "kind",
    "opd_code",
    "start_year",
    "end_year",
    "indicator_codes",
    "source_row",
)
_BUDGET_COLUMNS = ("version_id", "programme_code", "year", "source", "amount")
_STATUS_COLUMNS = (
    "version_id",
    "programme_code",
    "year",
    "status",
    "reason",
    "reason_accepted",
    "evidence",
    "updated_at",
    "updated_by",
    "reason_decided",
)


class Programmes(Connection):
    """The programme register (programme_versions, programmes, programme_budgets, programme_statuses)."""

    def insert_programme_version(
        self,
        cur: Cursor,
        city: str,
        programmes: Sequence[Programme],
        username: str,
        change: str,
        file_name: str | None = None,
        sha256: str | None = None,
        note: str | None = None,
    ) -> int:
        """Store `programmes` as the city's new register version (its id is returned); the
        city's finished scores follow in the same transaction."""
        vid = int(scalar(cur, "SELECT nextval('programme_version_seq')"))
        cur.execute(
            "INSERT INTO programme_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [vid, city, utcnow(), username, change, file_name, sha256, note],
        )
        if programmes:
            self.append_rows(
                cur,
                "programmes",
                _PROGRAMME_COLUMNS,
                [
                    [vid, p.code, p.name, p.pillar, p.kind, p.opd_code, p.start_year, p.end_year]
                    + [list(p.indicator_codes), p.source_row]
                    for p in programmes
                ],
            )
        budgets = [[vid, p.code, b.year, b.source, b.amount] for p in programmes for b in p.budgets]
        if budgets:
            self.append_rows(cur, "programme_budgets", _BUDGET_COLUMNS, budgets)
        statuses = [
            [
                vid,
                p.code,
                s.year,
                s.status,
                s.reason,
                s.reason_accepted,
                s.evidence,
                s.updated_at,
                s.updated_by,
                s.reason_decided,
            ]
            for p in programmes
            for s in p.statuses
        ]
        if statuses:
            self.append_rows(cur, "programme_statuses", _STATUS_COLUMNS, statuses)
        self.mark_finished_scores_stale(cur, {city})
        return vid

    def programme_version_id(self, city: str, cur: Cursor | None = None) -> int | None:
        """The id of the city's register version in force (None: no register yet)."""
        sql = "SELECT max(id) FROM programme_versions WHERE city_code = ?"
        if cur is not None:
            value = scalar(cur, sql, [city])
        else:
            with self.cursor() as c:
                value = scalar(c, sql, [city])
        return int(value) if value is not None else None

    def programme_versions(self, city: str) -> list[ProgrammeVersion]:
        """Every register version of the city, newest first."""
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT id, city_code, created_at, username, change, file_name, sha256, note
                   FROM programme_versions WHERE city_code = ? ORDER BY id DESC""",
                [city],
            ).fetchall()
        return [ProgrammeVersion(*r) for r in rows]

    def programmes_of_version(self, version_id: int, cur: Cursor | None = None) -> list[Programme]:
        """The programmes of one register version, by code."""
        if cur is None:
            with self.cursor() as c:
                return self._programmes_of_version(c, version_id)
        return self._programmes_of_version(cur, version_id)

    def _programmes_of_version(self, cur: Cursor, vid: int) -> list[Programme]:
        budgets: dict[str, list[ProgrammeBudget]] = defaultdict(list)
        for code, year, source, amount in cur.execute(
            """SELECT programme_code, year, source, amount FROM programme_budgets WHERE version_id = ?
               ORDER BY programme_code, year, source""",
            [vid],
        ).fetchall():
            budgets[code].append(ProgrammeBudget(int(year), str(source), int(amount)))
        statuses: dict[str, list[ProgrammeStatus]] = defaultdict(list)
        for code, *rest in cur.execute(
            """SELECT programme_code, year, status, reason, reason_accepted, evidence, updated_by, updated_at,
                      reason_decided
               FROM programme_statuses WHERE version_id = ? ORDER BY programme_code, year""",
            [vid],
        ).fetchall():
            year, status, reason, accepted, evidence, by, at, decided = rest
            statuses[code].append(
                ProgrammeStatus(int(year), status, reason, bool(accepted), evidence, by, at, bool(decided))
            )
        rows: list[Any] = cur.execute(
            """SELECT code, name, pillar, kind, opd_code, start_year, end_year, indicator_codes, source_row
               FROM programmes WHERE version_id = ? ORDER BY code""",
            [vid],
        ).fetchall()
        return [
            Programme(
                code=code,
                name=name,
                pillar=pillar,
                kind=kind,
                opd_code=opd,
                start_year=int(start),
                end_year=int(end),
                indicator_codes=tuple(inds or ()),
                budgets=tuple(budgets.get(code, ())),
                statuses=tuple(statuses.get(code, ())),
                source_row=source_row,
            )
            for code, name, pillar, kind, opd, start, end, inds, source_row in rows
        ]

    def programmes_in_force(self, city: str, cur: Cursor | None = None) -> list[Programme]:
        """The programmes of the city's register version in force ([] when it has none)."""
        vid = self.programme_version_id(city, cur)
        return [] if vid is None else self.programmes_of_version(vid, cur)
