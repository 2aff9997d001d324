"""Numbers and dates as each language writes them, through the one formatting module (Babel)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from metrics import formatting


@pytest.mark.parametrize("lang, expected", [("id", "3,48"), ("en", "3.48")])
def test_numbers_use_the_languages_decimal_mark(lang, expected):
    assert formatting.number(3.4812, lang) == expected


def test_thousands_changes_and_shares():
    assert formatting.number(1234.5, "id") == "1.234,50"
    assert formatting.number(1234.5, "en") == "1,234.50"
    assert formatting.signed(0.174, "id") == "+0,17" and formatting.signed(-0.051, "id") == "-0,05"
    assert formatting.signed(0.174, "en") == "+0.17"
    assert formatting.signed(-0.001, "id") == "+0,00"  # a change that rounds to nothing has no minus
    assert formatting.percent(0.955, "id", 1) == "95,5%" and formatting.percent(0.96, "en") == "96%"
    assert formatting.number(None) == formatting.number(float("nan")) == formatting.signed(None) == "–"


@pytest.mark.parametrize("lang, expected", [("id", "5 Desember 2026"), ("en", "December 5, 2026")])
def test_long_dates(lang, expected):
    assert formatting.long_date(date(2026, 12, 5), lang) == expected
    assert formatting.long_date(datetime(2026, 12, 5, 9, 30), lang) == expected


def test_moments_and_plotly_separators():
    ts = pd.Timestamp("2026-12-05 14:30:00")
    assert formatting.date_time(ts, "id") == "5 Des 2026 14.30"
    assert formatting.date_time(ts, "en").startswith("Dec 5, 2026")
    assert formatting.date_time(pd.NaT) == formatting.date_time(None) == "–"
    assert formatting.plotly_separators("id") == ",." and formatting.plotly_separators("en") == ".,"


def test_weights_and_thresholds_without_trailing_zeros():
    assert formatting.plain(0.1, "id") == "0,1" and formatting.plain(0.15, "en") == "0.15"
    assert formatting.plain(80.0, "id") == "80" and formatting.plain(2500, "id") == "2.500"
