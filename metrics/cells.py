"""The rules for reading one answer cell, stated once: what is blank, and what is a level.

Why a module of its own: an uploaded workbook (metrics.ingest), the browser form (metrics.entry)
and the assessor's review table (metrics.review) all read levels typed by people. They must
agree to the letter, or the form would keep what an upload refuses (or the other way round).
Uploads are the reference; the form and the review call the same functions, after turning the
data editor's own markers (NaN, pd.NA, numpy scalars) into plain values with `editor_value`.

The rules:

* blank (no answer): None, or text that is empty once whitespace is stripped (spaces, tabs,
  line breaks and the no-break space U+00A0 that Excel users paste from the web).
* a level is a whole number on the framework's scale: an int; a float that is a whole number
  (Excel stores every number as a float: 3.0 is 3); or text of digits with an optional sign.
  Refused, each with its own message: true/false (a cell or the words TRUE/FALSE/BENAR/SALAH),
  a decimal comma ('3,5', the Indonesian way of writing 3.5), anything else that is not a whole
  number ('3.5', '3.0' as text, 'tiga'), and a whole number off the scale.
* not applicable ("tidak berlaku", issue 17): the text TB, "tidak berlaku", N/A or NA in a level
  cell, in any case and spacing (`is_na`). Only an indicator whose framework entry has
  `allow_na: true` may be so answered, and only with a reason in the row's note (Catatan)
  column (`check_na`); the store keeps it apart from the levels (assessment_na).

Nothing here imports pandas: upload workers never load it.
"""

from __future__ import annotations

import re
import sys

BOOLEAN_WORDS = frozenset({"TRUE", "FALSE", "BENAR", "SALAH"})
_WHOLE = re.compile(r"[+-]?\d+")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
NA = "TB"  # how a not-applicable answer is written: in the template's drop-down, a draft, a CSV
NA_WORDS = frozenset({"TB", "TIDAK BERLAKU", "N/A", "NA"})


class CellError(Exception):
    """One cell's refusal: a message key of the catalogue and its parameters."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def blank(v: object) -> bool:
    """Whether a cell holds no answer: None, or text of only whitespace (NBSP included)."""
    return v is None or (isinstance(v, str) and not v.strip())


def missing(v: object) -> bool:
    """A data-editor cell that was emptied: None, NaN, pd.NA or NaT (never raises)."""
    if v is None:
        return True
    if isinstance(v, float):
        return v != v
    pd = sys.modules.get("pandas")
    if pd is None:  # without pandas loaded, no pandas marker can exist
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # a list or other non-scalar: not "missing"
        return False


def editor_value(v: object) -> object:
    """A data-editor cell as a plain Python value: its empty markers as None, numpy scalars as
    the int/float/bool they hold; anything else as is. Then the upload rules apply to it."""
    if missing(v):
        return None
    item = getattr(v, "item", None)
    if item is not None and type(v).__module__ == "numpy":
        return item()
    return v


def is_na(v: object) -> bool:
    """Whether a level cell says "not applicable": TB, tidak berlaku, N/A or NA (any case)."""
    return isinstance(v, str) and " ".join(v.split()).upper() in NA_WORDS


def check_na(allow_na: bool, code: str, reason: object) -> list[tuple[str, CellError]]:
    """A not-applicable answer to indicator `code` with the row's `reason` (its note): the
    refusals, each with the field it is about ("level" or "note"); none when it stands.

    Keys: cell.na_not_allowed (the indicator does not allow it), cell.na_reason_required.
    """
    out = []
    if not allow_na:
        out.append(("level", CellError("cell.na_not_allowed", indicator=code)))
    if blank(reason) or not isinstance(reason, str):
        out.append(("note", CellError("cell.na_reason_required", indicator=code)))
    return out


def parse_level(v: object, lo: int, hi: int) -> int | None:
    """A level cell as an int on the scale `lo`..`hi`, or None when blank; raises CellError.

    Keys: cell.boolean, cell.level_decimal_comma, cell.level_not_int, cell.level_range.
    """
    if isinstance(v, bool):
        raise CellError("cell.boolean")
    if isinstance(v, int):
        level = v
    elif isinstance(v, float):
        if not v.is_integer():
            raise CellError("cell.level_not_int", value=v, min=lo, max=hi)
        level = int(v)
    elif blank(v):
        return None
    else:
        s = str(v).strip()
        if _WHOLE.fullmatch(s):
            level = int(s)
        elif _DECIMAL_COMMA.fullmatch(s):
            raise CellError("cell.level_decimal_comma", value=s, min=lo, max=hi)
        elif s.upper() in BOOLEAN_WORDS:
            raise CellError("cell.boolean")
        else:
            raise CellError("cell.level_not_int", value=s, min=lo, max=hi)
    if not lo <= level <= hi:
        raise CellError("cell.level_range", value=level, min=lo, max=hi)
    return level


def level_or_none(v: object, lo: int, hi: int) -> int | None:
    """The level `parse_level` reads, or None when the cell is blank or refused (for showing a
    draft whose level is not valid yet: it is shown unanswered, and refused on submission)."""
    try:
        return parse_level(v, lo, hi)
    except CellError:
        return None
