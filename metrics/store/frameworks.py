"""The framework tables (frameworks, fw_dimensions, fw_pillars, fw_indicators)."""

from __future__ import annotations

from metrics.framework import Framework, parse_framework
from metrics.store.connection import Connection, utcnow
from metrics.store.scores import ALL_CITY_YEARS


class Frameworks(Connection):
    """The framework tables (frameworks, fw_dimensions, fw_pillars, fw_indicators)."""

    def save_framework(self, cur, fw: Framework, username: str) -> int:
        seq = cur.execute("SELECT coalesce(max(seq), 0) + 1 FROM frameworks").fetchone()[0]
        cur.execute(
            "INSERT INTO frameworks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                seq,
                fw.id,
                fw.applies_from,
                fw.name["id"],
                fw.name["en"],
                fw.scale_min,
                fw.scale_max,
                fw.missing,
                fw.source,
                utcnow(),
                username,
            ],
        )
        cur.executemany(
            "INSERT INTO fw_dimensions VALUES (?, ?, ?, ?, ?, ?)",
            [[seq, d.code, d.name["id"], d.name["en"], d.weight, n] for n, d in enumerate(fw.dimensions)],
        )
        pillar_rows = [[seq, p.code, None, p.name["id"], p.name["en"], n] for n, p in enumerate(fw.pillars)]
        pillar_rows += [
            [seq, s.code, s.parent, s.name["id"], s.name["en"], 100 + n] for n, s in enumerate(fw.subpillars)
        ]
        cur.executemany("INSERT INTO fw_pillars VALUES (?, ?, ?, ?, ?, ?)", pillar_rows)
        cur.executemany(
            "INSERT INTO fw_indicators VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
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
                ]
                for n, i in enumerate(fw.indicators)
            ],
        )
        self.mark_scores_stale(cur, ALL_CITY_YEARS)  # which framework scores a year may have changed
        return seq

    def frameworks(self) -> list[tuple[Framework, int]]:
        """Every loaded framework with its load sequence number (parsed once per process)."""
        with self.cursor() as cur:
            rows = cur.execute("SELECT seq, source FROM frameworks ORDER BY seq").fetchall()
        out = []
        for seq, source in rows:
            fw = self._fw_cache.get(seq)
            if fw is None:
                fw = self._fw_cache[seq] = parse_framework(source)
            out.append((fw, seq))
        return out

    def framework_list(self):
        with self.cursor() as cur:
            return cur.execute(
                """SELECT f.seq, f.id, f.applies_from, f.name_id, f.name_en, f.loaded_at, f.loaded_by,
                          (SELECT count(*) FROM fw_indicators i WHERE i.fw_seq = f.seq) AS indicators
                   FROM frameworks f ORDER BY seq"""
            ).df()
