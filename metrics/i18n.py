"""The one bilingual catalogue of user-facing text, core messages and UI labels alike.

Indonesian is the default because the people who read these texts are OPD operators;
English is kept alongside so assessors and outside reviewers get the same text. The texts
live in `metrics/locale/<lang>.toml` (one file per language, the same keys in both); they
are looked up by key at display time, so a stored or returned problem can be shown in
either language. The UI's `tr` is this module's `t` with the session's language.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

DEFAULT_LANG = "id"
LANGS = ("id", "en")

_LOCALE = Path(__file__).resolve().parent / "locale"


def _load() -> dict[str, dict[str, str]]:
    return {lang: tomllib.loads((_LOCALE / f"{lang}.toml").read_text(encoding="utf-8")) for lang in LANGS}


# Read once at import: the catalogue is part of the program, not of the data.
CATALOGUE: dict[str, dict[str, str]] = _load()


def text(key: str, lang: str = DEFAULT_LANG) -> str:
    """The unformatted text of `key` in `lang` (Indonesian when `lang` is unknown); KeyError if no such key."""
    return CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANG])[key]


def t(key: str, lang: str = DEFAULT_LANG, /, **params: object) -> str:
    """Text `key` in `lang`, formatted with `params`; unknown keys fail loudly in tests."""
    s = text(key, lang)
    return s.format(**params) if params else s


def has(key: str) -> bool:
    return key in CATALOGUE[DEFAULT_LANG]


def keys(prefix: str) -> list[str]:
    """Every key under `prefix.` (e.g. all "file." problems), sorted."""
    return sorted(k for k in CATALOGUE[DEFAULT_LANG] if k.startswith(prefix + "."))


def pick(label: dict[str, str] | None, lang: str = DEFAULT_LANG) -> str:
    """Choose the `lang` text of a bilingual label from the framework, falling back to Indonesian."""
    if not label:
        return ""
    return label.get(lang) or label.get(DEFAULT_LANG) or next(iter(label.values()), "")
