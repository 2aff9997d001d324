"""Typed problems and exceptions shared by every core module.

A `Problem` is one thing wrong with one place in one file. It carries a message key and its
parameters rather than finished text so the same rejection can be shown in Indonesian or
English, and so tests can assert on the key and the position instead of on prose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from metrics.i18n import DEFAULT_LANG, t


@dataclass(frozen=True)
class Problem:
    key: str
    file: str = ""
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    params: dict = field(default_factory=dict)

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **self.params)

    def where(self, lang: str = DEFAULT_LANG) -> str:
        words = {"id": ("lembar", "baris", "kolom"), "en": ("sheet", "row", "column")}[
            lang if lang in ("id", "en") else "id"
        ]
        parts = [self.file] if self.file else []
        if self.sheet:
            parts.append(f"{words[0]} {self.sheet}")
        if self.row is not None:
            parts.append(f"{words[1]} {self.row}")
        if self.column:
            parts.append(f"{words[2]} {self.column}")
        return ", ".join(parts)

    def render(self, lang: str = DEFAULT_LANG) -> str:
        where = self.where(lang)
        return f"{where}: {self.message(lang)}" if where else self.message(lang)

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict:
        d = asdict(self)
        d["message"] = self.message(lang)
        return d


class CoreError(Exception):
    """Base of errors the core raises on purpose; carries a translatable message."""

    def __init__(self, msg_key: str, /, **params: object) -> None:
        self.key = msg_key
        self.params = params
        super().__init__(t(msg_key, "en", **params))

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **self.params)


class PermissionDenied(CoreError):
    """The acting user's role or scope does not allow the action."""


class PeriodClosed(CoreError):
    """The city/year is closed or locked for the requested change."""


class ValidationError(CoreError):
    """Input (framework, registry, user data) is invalid; nothing was changed."""


class Rejected(Exception):
    """A file was refused; `problems` lists every reason with its position."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.render("en") for p in problems[:5]))
