"""Numbers and dates as a reader of each language writes them: the ONE place that formats them.

Why one module over Babel (CLDR data) rather than f-strings: Indonesian writes 3,48 and
"5 Desember 2026", English 3.48 and "December 5, 2026". A hand-written `f"{v:.2f}"` in a page, a
chart or the PDF silently shows the English form to an Indonesian mayor, and hand-written month
tables drift from the standard. Every page (through ui.charts' fmt helpers), the report card and
the formulas of the drill-down format through these functions, so a number reads the same
everywhere in one language. Machine outputs (CLI --json, XLSX cells, CSV exports read back by
software) keep plain numbers: they are data, not text for a reader.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import lru_cache
from typing import SupportsFloat

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import NumberPattern, parse_pattern

LOCALES = {"id": "id_ID", "en": "en_US"}
DASH = "–"  # what a missing value reads as, in every language


def locale(lang: str) -> str:
    return LOCALES.get(lang, LOCALES["id"])


@lru_cache(maxsize=64)
def _decimal_format(pattern: str, lang: str) -> tuple[NumberPattern, Locale]:
    """Babel's parsed pattern and locale, kept: parsing them anew for each number was most of
    the time of a table of a few thousand numbers (500 cities' what-if explanations)."""
    return parse_pattern(pattern), Locale.parse(locale(lang))


def _decimal(x: float, pattern: str, lang: str) -> str:
    """What babel.numbers.format_decimal(x, format=pattern, locale=...) returns, on kept objects."""
    parsed, loc = _decimal_format(pattern, lang)
    return str(parsed.apply(x, loc))


def _value(v: SupportsFloat | None) -> float | None:
    """`v` as a float, or None when it is missing (None, NaN, pandas' NA, or not a number)."""
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def number(v: float | None, lang: str = "id", digits: int = 2) -> str:
    """3.4812 -> '3,48' (id) / '3.48' (en); thousands grouped ('1.234,50'); missing -> '–'."""
    x = _value(v)
    if x is None:
        return DASH
    return _decimal(x, "#,##0" + ("." + "0" * digits if digits > 0 else ""), lang)


def plain(v: float | None, lang: str = "id") -> str:
    """A weight or threshold as written, without trailing zeros: 0.1 -> '0,1', 80.0 -> '80'."""
    x = _value(v)
    if x is None:
        return DASH
    return _decimal(x, "#,##0.####", lang)


def signed(v: float | None, lang: str = "id", digits: int = 2) -> str:
    """A change with its sign: '+0,17' / '-0,05' (id), '+0.17' (en); missing -> '–'."""
    x = _value(v)
    if x is None:
        return DASH
    text = number(abs(x), lang, digits)
    # a value that rounds to zero carries no sign worth reading (-0,00 would alarm for nothing)
    if text == number(0.0, lang, digits):
        return "+" + text
    return ("-" if x < 0 else "+") + text


def percent(share: float | None, lang: str = "id", digits: int = 0) -> str:
    """A 0..1 share as a percentage: 0.955 -> '96%' ('95,5%' with digits=1 in id)."""
    x = _value(share)
    if x is None:
        return DASH
    return number(x * 100, lang, digits) + "%"


def long_date(d: date | datetime | None, lang: str = "id") -> str:
    """'5 Desember 2026' (id) / 'December 5, 2026' (en): the date a signed document carries."""
    if d is None:
        return DASH
    if isinstance(d, datetime):
        d = d.date()
    return format_date(d, format="long", locale=locale(lang))


def date_time(ts: datetime | None, lang: str = "id") -> str:
    """A moment to the minute: '5 Des 2026 14.30' (id) / 'Dec 5, 2026 2:30 PM' (en)."""
    if ts is None or _nat(ts):
        return DASH
    if hasattr(ts, "to_pydatetime"):  # a pandas Timestamp, as DuckDB frames carry them
        ts = ts.to_pydatetime()
    loc = locale(lang)
    return f"{format_date(ts, 'medium', locale=loc)} {format_time(ts, 'short', locale=loc)}"


def _nat(v: object) -> bool:
    return v != v  # NaT (and NaN) are the only values unequal to themselves


def plotly_separators(lang: str = "id") -> str:
    """Plotly's `layout.separators` (decimal mark, then thousands mark) for `lang`: ',.' for id."""
    dec = number(1.5, lang, 1)[1]
    return dec + ("." if dec == "," else ",")
