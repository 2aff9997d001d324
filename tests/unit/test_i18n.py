"""The text catalogue: one file per language, the same keys and placeholders in each, and every
key the code asks for present."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from metrics import i18n

ROOT = Path(__file__).resolve().parents[2]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_have_the_same_keys():
    assert set(i18n.CATALOGUE["id"]) == set(i18n.CATALOGUE["en"])
    assert len(i18n.CATALOGUE["id"]) > 500  # core messages and UI labels in one catalogue


def test_placeholders_agree_and_texts_are_filled():
    empty = [
        k for k in i18n.CATALOGUE["id"] if not (i18n.text(k, "id").strip() and i18n.text(k, "en").strip())
    ]
    differ = {
        k: (_fields(i18n.text(k, "id")), _fields(i18n.text(k, "en")))
        for k in i18n.CATALOGUE["id"]
        if _fields(i18n.text(k, "id")) != _fields(i18n.text(k, "en"))
    }
    assert not empty and not differ


def test_every_literal_key_in_the_code_exists():
    # t("key", ...), tr("key", ...) and Problem("key", ...) with a literal key: the forms the code uses
    pattern = re.compile(r'\b(?:tr|t|Problem|CoreError|ValidationError)\(\s*"([a-z_]+(?:\.[a-z_0-9]+)+)"')
    used: dict[str, str] = {}
    for path in [
        *ROOT.glob("metrics/**/*.py"),
        *ROOT.glob("ui/*.py"),
        *ROOT.glob("pages/*.py"),
        ROOT / "dashboard.py",
    ]:
        for key in pattern.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, str(path.relative_to(ROOT)))
    assert len(used) > 300
    missing = {k: where for k, where in used.items() if not i18n.has(k)}
    assert not missing


def test_unknown_language_falls_back_to_indonesian_and_unknown_key_fails():
    assert i18n.t("file.empty", "fr") == i18n.t("file.empty", "id")
    with pytest.raises(KeyError):
        i18n.t("no.such.key")
