"""The framework tables (frameworks, fw_dimensions, fw_pillars, fw_indicators).

A framework is stored twice: its source text as loaded (what `framework_sources` returns, and
what metrics.loaded_frameworks parses: the store parses no YAML) and its dimensions, pillars and
indicators as rows, which the scoring SQL joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics.store.connection import Connection, Cursor, utcnow
from metrics.store.scores import ALL_CITY_YEARS

if TYPE_CHECKING:
    import pandas as pd

    from metrics.framework import Framework


# The columns of each framework table that a framework's rows fill, in their order (frameworks
# also records when and by whom it was loaded). Fixed names: the SQL built from them is fixed text.
FRAMEWORK_COLUMNS: dict[str, str] = {
    "frameworks": "seq, id, applies_from, name_id, name_en, scale_min, scale_max, missing, source",
    "fw_dimensions": "fw_seq, code, name_id, name_en, weight, ord, method, kind, min_respondents, pillar_weight",
    "fw_pillars": "fw_seq, code, parent, name_id, name_en, ord",
    "fw_indicators": "fw_seq, code, pillar, subpillar, dimension, weight, opd_types, name_id, name_en, "
    "metric_code, metric_unit, metric_aggregate, metric_direction, thresholds, ord, allow_na, per_population",
    "fw_category_thresholds": "fw_seq, indicator_code, category, thresholds",
}


@dataclass(frozen=True)
class FrameworkRows:
    """A framework as the rows of the framework tables, in FRAMEWORK_COLUMNS order."""

    frameworks: list[list[Any]]
    fw_dimensions: list[list[Any]]
    fw_pillars: list[list[Any]]
    fw_indicators: list[list[Any]]
    fw_category_thresholds: list[list[Any]]

    def tables(self) -> dict[str, list[list[Any]]]:
        """The rows by table name, in FRAMEWORK_COLUMNS order."""
        return {table: getattr(self, table) for table in FRAMEWORK_COLUMNS}


def framework_rows(fw: Framework, seq: int) -> FrameworkRows:
    """How a framework becomes rows under load sequence number `seq`: the one rule, for a load
    (save_framework) and for the what-if read, which hands the rows to DuckDB unsaved."""
    return FrameworkRows(
        frameworks=[
            [seq, fw.id, fw.applies_from, fw.name["id"], fw.name["en"], fw.scale_min, fw.scale_max]
            + [fw.missing, fw.source]
        ],
        fw_dimensions=[
            [seq, d.code, d.name["id"], d.name["en"], d.weight, n, d.method, d.kind, d.min_respondents]
            + [d.pillar_weight]
            for n, d in enumerate(fw.dimensions)
        ],
        fw_pillars=[[seq, p.code, None, p.name["id"], p.name["en"], n] for n, p in enumerate(fw.pillars)]
        + [[seq, s.code, s.parent, s.name["id"], s.name["en"], 100 + n] for n, s in enumerate(fw.subpillars)],
        fw_indicators=[
            [
                seq,
                i.code,
                i.pillar,
                i.subpillar,
                i.dimension,
                i.weight,
                list(i.opd_types),
                i.name["id"],
                i.name["en"],
                i.metric.code if i.metric else None,
                i.metric.unit if i.metric else None,
                i.metric.aggregate if i.metric else None,
                i.metric.direction if i.metric else None,
                list(i.metric.thresholds) if i.metric else None,
                n,
                i.allow_na,
                i.metric.per_population if i.metric else None,
            ]
            for n, i in enumerate(fw.indicators)
        ],
        fw_category_thresholds=[
            [seq, i.code, category, list(th)]
            for i in fw.indicators
            if i.metric
            for category, th in sorted(i.metric.category_thresholds.items())
        ],
    )


class Frameworks(Connection):
    """The framework tables (frameworks, fw_dimensions, fw_pillars, fw_indicators)."""

    def save_framework(self, cur: Cursor, fw: Framework, username: str) -> int:
        """Store a validated framework under the next load sequence number, which it returns."""
        row = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM frameworks").fetchone()
        seq = int(row[0]) if row else 1
        rows = framework_rows(fw, seq)
        cur.execute(
            f"INSERT INTO frameworks({FRAMEWORK_COLUMNS['frameworks']}, loaded_at, loaded_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*rows.frameworks[0], utcnow(), username],
        )
        for table, table_rows in rows.tables().items():
            if table != "frameworks" and table_rows:
                slots = ", ".join("?" for _ in table_rows[0])
                cur.executemany(
                    f"INSERT INTO {table}({FRAMEWORK_COLUMNS[table]}) VALUES ({slots})", table_rows
                )
        self.mark_scores_stale(cur, ALL_CITY_YEARS)  # which framework scores a year may have changed
        return seq

    def framework_sources(self) -> list[tuple[int, str]]:
        """(load sequence number, source text) of every loaded framework, oldest first."""
        with self.cursor() as cur:
            rows = cur.execute("SELECT seq, source FROM frameworks ORDER BY seq").fetchall()
        return [(int(seq), str(source)) for seq, source in rows]

    def framework_list(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute(
                """SELECT f.seq, f.id, f.applies_from, f.name_id, f.name_en, f.loaded_at, f.loaded_by,
                          (SELECT count(*) FROM fw_indicators i WHERE i.fw_seq = f.seq) AS indicators
                   FROM frameworks f ORDER BY seq"""
            ).df()
