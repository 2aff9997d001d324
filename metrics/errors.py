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
    params: dict[str, object] = field(default_factory=dict)
    # the indicator the problem's row answers, so that the person fixing it reads "GOV-03
    # Layanan pengaduan terpadu" rather than a cell address alone; name as {"id", "en"}
    indicator: str | None = None
    indicator_name: dict[str, str] | None = None

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **self.params)

    def indicator_label(self, lang: str = DEFAULT_LANG) -> str:
        """'GOV-03 Layanan pengaduan terpadu', or the code alone, or '' when the row names none."""
        if not self.indicator:
            return ""
        name = (self.indicator_name or {}).get(lang) or (self.indicator_name or {}).get("id") or ""
        return f"{self.indicator} {name}".strip()

    def line(self, lang: str = DEFAULT_LANG) -> str:
        """The problem as its fixer reads it: 'Baris 11 · GOV-03 Layanan … · Level 5 di luar skala 0–4'."""
        row = {"en": "Row"}.get(lang, "Baris")
        parts = [f"{row} {self.row}"] if self.row is not None else []
        if self.indicator:
            parts.append(self.indicator_label(lang))
        parts.append(self.message(lang))
        return " · ".join(parts)

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
        if self.indicator:
            where = f"{where} · {self.indicator_label(lang)}" if where else self.indicator_label(lang)
        return f"{where}: {self.message(lang)}" if where else self.message(lang)

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
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
