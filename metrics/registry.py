"""Cities and their OPDs: who exists, so that every submission can be checked against them.

Codes are kept as text because official region codes carry leading zeros. The two CSV
shapes are told apart by their exact headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from metrics.errors import Problem, Rejected
from metrics.readers import Limits, DEFAULT_LIMITS, read_csv

CITY_HEADER = ["city_code", "name", "province", "category", "population"]
OPD_HEADER = ["city_code", "opd_code", "opd_type", "name"]
CATEGORIES = ("metropolitan", "besar", "sedang", "kecil")


@dataclass(frozen=True)
class City:
    city_code: str
    name: str
    province: str
    category: str
    population: int | None


@dataclass(frozen=True)
class Opd:
    city_code: str
    opd_code: str
    opd_type: str
    name: str


def _bad(file: str, row: int, column: str, detail: str) -> Problem:
    return Problem("registry.invalid", file, row=row, column=column,
                   params={"file": file, "row": row, "column": column, "detail": detail})


def parse_registry_csv(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> list[City] | list[Opd]:
    """Parse a cities or OPDs CSV (by header); raise Rejected listing every bad cell."""
    table = read_csv(data, file, limits)
    header = [h.lower() for h in table.header]
    problems: list[Problem] = []
    if header == CITY_HEADER:
        out: list = []
        seen: dict[str, int] = {}
        for r, line in zip(table.rows, table.row_numbers):
            if len(r) != len(CITY_HEADER):
                problems.append(_bad(file, line, "*", f"expected {len(CITY_HEADER)} fields, got {len(r)}"))
                continue
            code, name, prov, cat, pop = (c.strip() for c in r)
            if not code:
                problems.append(_bad(file, line, "city_code", "empty"))
            elif code in seen:
                problems.append(_bad(file, line, "city_code", f"duplicate of row {seen[code]}"))
            seen.setdefault(code, line)
            if not name:
                problems.append(_bad(file, line, "name", "empty"))
            if cat not in CATEGORIES:
                problems.append(_bad(file, line, "category", f"must be one of {', '.join(CATEGORIES)}"))
            population = None
            if pop:
                if not pop.isdigit():
                    problems.append(_bad(file, line, "population", f"not a whole number: {pop!r}"))
                else:
                    population = int(pop)
            out.append(City(code, name, prov, cat, population))
    elif header == OPD_HEADER:
        out = []
        seen2: dict[tuple[str, str], int] = {}
        for r, line in zip(table.rows, table.row_numbers):
            if len(r) != len(OPD_HEADER):
                problems.append(_bad(file, line, "*", f"expected {len(OPD_HEADER)} fields, got {len(r)}"))
                continue
            city, opd, typ, name = (c.strip() for c in r)
            for col, val in (("city_code", city), ("opd_code", opd), ("opd_type", typ), ("name", name)):
                if not val:
                    problems.append(_bad(file, line, col, "empty"))
            if (city, opd) in seen2:
                problems.append(_bad(file, line, "opd_code", f"duplicate of row {seen2[(city, opd)]}"))
            seen2.setdefault((city, opd), line)
            out.append(Opd(city, opd, typ.upper(), name))
    else:
        raise Rejected([_bad(file, 1, "*", f"header must be {','.join(CITY_HEADER)} or {','.join(OPD_HEADER)}")])
    if problems:
        raise Rejected(problems)
    return out
