"""The city and OPD registry and the per-city indicator assignments."""

from __future__ import annotations

from metrics.registry import City, CityPopulation, Opd
from metrics.store.connection import Connection, Cursor, utcnow


class Registry(Connection):
    """The city and OPD registry and the per-city indicator assignments."""

    def upsert_cities(self, cur: Cursor, cities: list[City]) -> tuple[int, int]:
        before = {
            r[0]: (r[1], r[2])
            for r in cur.execute("SELECT city_code, category, population FROM cities").fetchall()
        }
        existing = set(before)
        cur.executemany(
            "INSERT INTO cities(city_code, name, province, category, population, timezone) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (city_code) DO UPDATE SET name = excluded.name, "
            "province = excluded.province, category = excluded.category, population = excluded.population, "
            "timezone = excluded.timezone",
            [[c.city_code, c.name, c.province, c.category, c.population, c.timezone] for c in cities],
        )
        new = sum(1 for c in cities if c.city_code not in existing)
        # a city's category picks its metric thresholds, its population divides per-population ones
        moved = {
            c.city_code
            for c in cities
            if c.city_code in before and before[c.city_code] != (c.category, c.population)
        }
        self._mark_cities_stale(cur, moved)
        return new, len(cities) - new

    def upsert_population(self, cur: Cursor, rows: list[CityPopulation]) -> tuple[int, int]:
        """Store population figures by city and year (a row replaces that city-year's figure);
        (added, updated). The cities' scores follow: per-population thresholds divide by them."""
        existing = {
            (r[0], r[1]) for r in cur.execute("SELECT city_code, year FROM city_population").fetchall()
        }
        cur.executemany(
            "INSERT INTO city_population VALUES (?, ?, ?) "
            "ON CONFLICT (city_code, year) DO UPDATE SET population = excluded.population",
            [[r.city_code, r.year, r.population] for r in rows],
        )
        self._mark_cities_stale(cur, {r.city_code for r in rows})
        new = sum(1 for r in rows if (r.city_code, r.year) not in existing)
        return new, len(rows) - new

    def population_rows(self, city: str | None = None) -> list[CityPopulation]:
        """Population figures by year, of one city or all, by city and year."""
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT city_code, year, population FROM city_population
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, year""",
                {"c": city},
            ).fetchall()
        return [CityPopulation(str(c), int(y), int(p)) for c, y, p in rows]

    def _mark_cities_stale(self, cur: Cursor, cities: set[str]) -> None:
        """Every scored year of `cities` must be rebuilt (a change to what their levels depend on)."""
        if not cities:
            return
        years = cur.execute(
            "SELECT DISTINCT city_code, year FROM submissions WHERE city_code = ANY(?)",
            [sorted(cities)],
        ).fetchall()
        if years:
            self.mark_scores_stale(cur, {(c, y) for c, y in years})
        self.mark_finished_scores_stale(cur, cities)

    def upsert_opds(self, cur: Cursor, opds: list[Opd]) -> tuple[int, int]:
        existing = {
            (r[0], r[1]): r[2]
            for r in cur.execute("SELECT city_code, opd_code, opd_type FROM opds").fetchall()
        }
        # head_name/email None: not in the loaded file, the stored one stays; "": cleared
        cur.executemany(
            """INSERT INTO opds (city_code, opd_code, opd_type, name, head_name, email) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (city_code, opd_code) DO UPDATE SET opd_type = excluded.opd_type, name = excluded.name,
                 head_name = CASE WHEN excluded.head_name IS NULL THEN opds.head_name
                                  ELSE nullif(excluded.head_name, '') END,
                 email = CASE WHEN excluded.email IS NULL THEN opds.email ELSE nullif(excluded.email, '') END""",
            [[o.city_code, o.opd_code, o.opd_type, o.name, o.head_name, o.email] for o in opds],
        )
        new = sum(1 for o in opds if (o.city_code, o.opd_code) not in existing)
        # an OPD's type decides which of its answers count towards completeness
        changed = sorted({o.city_code for o in opds if existing.get((o.city_code, o.opd_code)) != o.opd_type})
        if changed:
            years = cur.execute(
                "SELECT DISTINCT city_code, year FROM submissions WHERE city_code = ANY(?)",
                [changed],
            ).fetchall()
            self.mark_scores_stale(cur, {(c, y) for c, y in years})
        return new, len(opds) - new

    def city_codes(self, cur: Cursor | None = None) -> set[str]:
        with self.cursor() as c:
            return {r[0] for r in (cur or c).execute("SELECT city_code FROM cities").fetchall()}

    def cities(self) -> list[City]:
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT city_code, name, province, category, population, timezone FROM cities ORDER BY name"
            ).fetchall()
        return [City(*r) for r in rows]

    def opds(self, city: str | None = None) -> list[Opd]:
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT city_code, opd_code, opd_type, name, head_name, email FROM opds
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, opd_code""",
                {"c": city},
            ).fetchall()
        return [Opd(*r) for r in rows]

    def assignment_rows(
        self, city: str | None = None, cur: Cursor | None = None
    ) -> list[tuple[str, str, str, object, str]]:
        """(city, indicator, OPD, assigned_at, assigned_by): indicators assigned to an OPD of a city."""
        with self.cursor() as c:
            return (
                (cur or c)
                .execute(
                    """SELECT city_code, indicator_code, opd_code, assigned_at, assigned_by FROM opd_assignments
                   WHERE $c IS NULL OR city_code = $c ORDER BY city_code, indicator_code, opd_code""",
                    {"c": city},
                )
                .fetchall()
            )

    def set_assignment_row(
        self, cur: Cursor, city: str, indicator: str, opd: str | None, username: str
    ) -> None:
        """Make `opd` (None: nobody) the one assigned OPD of `indicator` in `city`; rescores the city."""
        cur.execute(
            "DELETE FROM opd_assignments WHERE city_code = ? AND indicator_code = ?", [city, indicator]
        )
        if opd is not None:
            cur.execute(
                "INSERT INTO opd_assignments VALUES (?, ?, ?, ?, ?)",
                [city, indicator, opd, utcnow(), username],
            )
        years = cur.execute("SELECT DISTINCT year FROM submissions WHERE city_code = ?", [city]).fetchall()
        self.mark_scores_stale(cur, {(city, y) for (y,) in years})
        self.mark_finished_scores_stale(cur, {city})

    def opd_map(self, cur: Cursor | None = None) -> dict[tuple[str, str], Opd]:
        with self.cursor() as c:
            rows = (
                (cur or c)
                .execute("SELECT city_code, opd_code, opd_type, name, head_name, email FROM opds")
                .fetchall()
            )
        return {(r[0], r[1]): Opd(*r) for r in rows}
