"""Cities and their OPDs: who exists, so that every submission can be checked against them.

Codes are kept as text because official region codes carry leading zeros. The two CSV
shapes are told apart by their exact headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metrics.errors import Problem, Rejected
from metrics.readers import DEFAULT_LIMITS, Limits, read_csv

CITY_HEADER = ["city_code", "name", "province", "category", "population"]
OPD_HEADER = ["city_code", "opd_code", "opd_type", "name"]
# population by year (issue 17): what per-population thresholds divide by, year by year
POPULATION_HEADER = ["city_code", "year", "population"]
MIN_YEAR, MAX_YEAR = 1900, 2200
_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")
# optional trailing columns of the OPD CSV, in this order: who heads the OPD (named on the overdue
# list for the Sekretaris Daerah) and the address deadline reminders go to (the only addresses the
# product ever mails)
OPD_OPTIONAL = ["head_name", "email"]
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_HEAD_NAME = 120
MAX_EMAIL = 254
CATEGORIES = ("metropolitan", "besar", "sedang", "kecil")
# optional trailing column of the cities CSV: the city's time zone, for the times it is shown
CITY_OPTIONAL = ["timezone"]
TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT
TZ_ABBREV = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
DEFAULT_TIMEZONE = "Asia/Jakarta"
# Provinces outside WIB by their official names (lower-case, "provinsi" dropped); every other
# province (Sumatra, Java, Banten, West and Central Kalimantan, Bangka Belitung, Riau Islands) is WIB.
_WITA = {
    "bali",
    "nusa tenggara barat",
    "nusa tenggara timur",
    "kalimantan selatan",
    "kalimantan timur",
    "kalimantan utara",
    "sulawesi utara",
    "sulawesi tengah",
    "sulawesi selatan",
    "sulawesi tenggara",
    "sulawesi barat",
    "gorontalo",
}
_WIT = {
    "maluku",
    "maluku utara",
    "papua",
    "papua barat",
    "papua barat daya",
    "papua selatan",
    "papua tengah",
    "papua pegunungan",
}


def timezone_for_province(province: str | None) -> str:
    """The time zone a province lies in (WIB when the name is not one of the WITA/WIT provinces)."""
    p = " ".join((province or "").lower().replace("provinsi", " ").split())
    if p in _WIT:
        return "Asia/Jayapura"
    if p in _WITA:
        return "Asia/Makassar"
    return DEFAULT_TIMEZONE


@dataclass(frozen=True)
class City:
    city_code: str
    name: str
    province: str
    category: str
    population: int | None
    timezone: str | None = None  # None: derived from the province (timezone_for_province)

    @property
    def tz(self) -> str:
        return self.timezone or timezone_for_province(self.province)


@dataclass(frozen=True)
class CityPopulation:
    city_code: str
    year: int
    population: int


@dataclass(frozen=True)
class Opd:
    city_code: str
    opd_code: str
    opd_type: str
    name: str
    head_name: str | None = None  # None: not given (a load without the column keeps the stored one)
    email: str | None = None


def _bad(file: str, row: int, column: str, detail: str) -> Problem:
    return Problem(
        "registry.invalid",
        file,
        row=row,
        column=column,
        params={"file": file, "row": row, "column": column, "detail": detail},
    )


RegistryItems = list[City] | list[Opd] | list[CityPopulation]


def _population_rows(
    table_rows: list[list[object]], numbers: list[int], file: str
) -> tuple[list[CityPopulation], list[Problem]]:
    out: list[CityPopulation] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, int], int] = {}
    for r, line in zip(table_rows, numbers):
        if len(r) != len(POPULATION_HEADER):
            problems.append(_bad(file, line, "*", f"expected {len(POPULATION_HEADER)} fields, got {len(r)}"))
            continue
        code, year_s, pop_s = (str(c).strip() for c in r)
        if not code:
            problems.append(_bad(file, line, "city_code", "empty"))
        year = int(year_s) if year_s.isdigit() and MIN_YEAR <= int(year_s) <= MAX_YEAR else None
        if year is None:
            problems.append(
                _bad(file, line, "year", f"not a year between {MIN_YEAR} and {MAX_YEAR}: {year_s!r}")
            )
        # "1.180.000": Indonesian thousands separators, as a spreadsheet in the id locale writes it
        pop_digits = pop_s.replace(".", "") if _THOUSANDS.fullmatch(pop_s) else pop_s
        if not pop_digits.isdigit() or int(pop_digits) <= 0:
            problems.append(_bad(file, line, "population", f"not a whole number above 0: {pop_s!r}"))
            continue
        if year is None or not code:
            continue
        if (code, year) in seen:
            problems.append(_bad(file, line, "year", f"duplicate of row {seen[(code, year)]}"))
        seen.setdefault((code, year), line)
        out.append(CityPopulation(code, year, int(pop_digits)))
    return out, problems


def parse_registry_csv(data: bytes, file: str, limits: Limits = DEFAULT_LIMITS) -> RegistryItems:
    """Parse a cities, OPDs or population-by-year CSV (by header); raise Rejected listing every bad cell."""
    table = read_csv(data, file, limits)
    header = [h.lower() for h in table.header]
    problems: list[Problem] = []
    out: RegistryItems
    if header == POPULATION_HEADER:
        out, problems = _population_rows(table.rows, table.row_numbers, file)
    elif header in (CITY_HEADER, CITY_HEADER + CITY_OPTIONAL):
        cities: list[City] = []
        out = cities
        seen: dict[str, int] = {}
        for r, line in zip(table.rows, table.row_numbers):
            if len(r) != len(header):
                problems.append(_bad(file, line, "*", f"expected {len(header)} fields, got {len(r)}"))
                continue
            # CSV cells are text: str() only tells the type checker so
            code, name, prov, cat, pop = (str(c).strip() for c in r[:5])
            tz = str(r[5]).strip() if len(r) > 5 else ""
            if tz and tz not in TIMEZONES:
                problems.append(_bad(file, line, "timezone", f"must be one of {', '.join(TIMEZONES)}"))
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
            cities.append(City(code, name, prov, cat, population, tz or None))
    elif (
        header[: len(OPD_HEADER)] == OPD_HEADER
        and header[len(OPD_HEADER) :] == OPD_OPTIONAL[: len(header) - 4]
    ):
        opds: list[Opd] = []
        out = opds
        seen2: dict[tuple[str, str], int] = {}
        width = len(header)
        for r, line in zip(table.rows, table.row_numbers):
            if len(r) != width:
                problems.append(_bad(file, line, "*", f"expected {width} fields, got {len(r)}"))
                continue
            city, opd, typ, name = (str(c).strip() for c in r[:4])
            extra: list[str | None] = [str(c).strip() for c in r[4:]]
            extra += [None] * (len(OPD_OPTIONAL) - (width - 4))
            head, email = extra
            if head is not None and len(head) > MAX_HEAD_NAME:
                problems.append(_bad(file, line, "head_name", f"longer than {MAX_HEAD_NAME} characters"))
            if email and (len(email) > MAX_EMAIL or not EMAIL_RE.fullmatch(email)):
                problems.append(_bad(file, line, "email", f"not an e-mail address: {email!r}"))
            for col, val in (("city_code", city), ("opd_code", opd), ("opd_type", typ), ("name", name)):
                if not val:
                    problems.append(_bad(file, line, col, "empty"))
            if (city, opd) in seen2:
                problems.append(_bad(file, line, "opd_code", f"duplicate of row {seen2[(city, opd)]}"))
            seen2.setdefault((city, opd), line)
            opds.append(Opd(city, opd, typ.upper(), name, head, email.lower() if email else email))
    else:
        raise Rejected(
            [
                _bad(
                    file,
                    1,
                    "*",
                    f"header must be {','.join(CITY_HEADER)}[,timezone], {','.join(OPD_HEADER)}"
                    f"[,{','.join(OPD_OPTIONAL)}] or {','.join(POPULATION_HEADER)}",
                )
            ]
        )
    if problems:
        raise Rejected(problems)
    return out
