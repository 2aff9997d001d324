"""Personal identifiers in uploaded text: the one rule for what counts as a NIK or KK number.

Why a module of its own: the store keeps aggregates only, so a national ID number (NIK) or a
family-card number (KK) must be refused wherever text enters the product (workbook cells
today, evidence documents later), and every entry point must apply the same rule. Both numbers
are 16 digits, and people (and hostile testers) write them in many ways: unbroken, in groups
("3201 2345 6789 0123", "32.01.23.450101.0001"), with `/`, `_` or `,` between the groups, with
no-break, thin or zero-width spaces, next to another number ("3201234567890123 2024"), two in
a row, or as Excel shows a 16-digit number ("3,20123456789012E+15").

The rule, applied to the text after `normalise()`:

1. **Normalise.** NFKC (full-width and superscript digits become 0-9, no-break and thin spaces
   become spaces); every Unicode decimal digit becomes its ASCII digit; invisible characters
   (format characters such as zero-width spaces, joiners, the BOM, soft hyphens, and combining
   marks) are read as a space between two digits and dropped elsewhere; every run of
   whitespace becomes one space. Different dash characters stay different separators.
2. **Digit groups.** Digits split into groups by *separators*: one space, or one character that
   is neither a letter, a digit nor a control character (`.` `,` `-` `/` `_` `'` `|` ...),
   alone or with one space on each side ("3201 - 2345"). Anything else ends the chain, such as
   a separator with a space on one side only (", " in "2021, 2022, 2023, 2024").
3. **A NIK/KK is** a window of consecutive groups that starts with a non-zero digit (no province
   code starts with 0) and holds exactly 16 digits, where every separator in it is the same
   ("3201 2345 6789 0123", "3201234567890123" alone, the first 16 of "3201234567890123 2024");
   or a whole chain with mixed separators whose groups are one of the ways a NIK is read out:
   4-4-4-4, 6-6-4, 2-2-2-6-4 or 2-2-2-2-2-2-4 ("32.01.23 450101-0001"). An unbroken run of 32, 48, ...
   digits (NIKs written back to back) counts too. Four years in a row ("2021 2022 2023 2024") do not: in a
   NIK the third group of four starts with the month, never 19 or 20.
4. **Excel's form**: a number in exponent notation whose value is at least 10^15 and below
   10^16 ("3,20123456789012E+15", "3.2E+15"); a numeric cell in that range, already as a number.

The NIK's internal structure (birth date, month) is deliberately *not* checked: test data and
many real cards do not follow it, and a missed number is a leak while a false alarm costs the
uploader one edit. What the rule leaves alone: regulation and decree numbers
("188.45/123/2024"), dates, phone numbers (12-13 digits), NPWP (15 digits), budgets below
Rp 10^15, IP addresses; `tests/security/test_personal_data.py` measures the false-positive rate
on such text.

Speed: `may_hold_personal()` is one RE2 search over a whole sheet's text (normalised the same
way); it is derived from the same character classes as the exact rule and only ever says yes
more often (a property test checks this), so the cell-by-cell `looks_personal()` runs only on a
hit.

Citizen survey exports (metrics.surveys) carry respondents' contact details more often than
workbooks do, so for them a second rule at the end of this module also refuses e-mail addresses
and Indonesian mobile numbers (`find_contact`); the NIK/KK rule above still leaves phone
numbers alone in workbooks, where a 12-digit number is usually a decree or an amount.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple, Protocol

# column names that are personal identifiers whatever their content
PERSONAL_HEADERS = frozenset(
    {"nik", "no_nik", "nomor_nik", "kk", "no_kk", "nomor_kk", "nkk", "no_ktp", "ktp"}
)

NIK_DIGITS = 16

# A separator, on normalised text: one character that is not a word character (letter, digit,
# `_` aside), not a control character and not a lone surrogate, alone or with a space each side.
# Whitespace has become one space by then, which this includes.
_PUNCT = r"(?:[^\w\x00-\x1f\x7f-\x9f\ud800-\udfff]|_)"
_SEP = rf"(?: {_PUNCT} |{_PUNCT})"
# how a NIK's fields (PP KK CC DD MM YY NNNN) are grouped when written with mixed separators
_NIK_SHAPES = frozenset({(4, 4, 4, 4), (6, 6, 4), (2, 2, 2, 6, 4), (2, 2, 2, 2, 2, 2, 4)})
_CHAIN = re.compile(rf"[0-9]+(?:{_SEP}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_EXPONENT = re.compile(r"(?<![0-9])([0-9]+(?:[.,][0-9]+)?)[eE]\+?([0-9]+)(?![0-9])")
_SPACES = re.compile(r"[^\S ]|\s{2,}")

# The prefilter, over the same folded text (`_fold`, before whitespace runs become one space): a
# non-zero digit and 15 more digits with only characters other than a cell break (\x00), an
# ASCII letter or a digit before each (every window of rule 3 has that shape: its separators are
# whitespace runs and `_PUNCT`, none of those characters), or a digit, an e and a digit (every
# number of rule 4). RE2, for one linear pass over a whole sheet.
_PREFILTER = rb"[1-9](?:[^\x00A-Za-z0-9]*[0-9]){15}|[0-9][eE]\+?[0-9]"


class _Match(Protocol):
    def span(self) -> tuple[int, int]: ...
    def group(self) -> bytes: ...


class _Re2Bytes(Protocol):
    """What this module uses of a compiled RE2 pattern over bytes (re2 ships no types)."""

    def finditer(self, text: bytes) -> Iterator[_Match]: ...
    def search(self, text: bytes) -> _Match | None: ...


class _Tables(NamedTuple):
    digits: dict[str, str]  # non-ASCII decimal digit -> its ASCII digit
    exotic: _Re2Bytes  # runs of non-ASCII digits and invisible characters, in UTF-8


@functools.cache
def _tables() -> _Tables:
    """Built once per process from the running Python's Unicode tables (about 40 ms)."""
    import re2

    digits: dict[str, str] = {}
    invisible: list[int] = []
    for cp in (*range(0x80, 0x20000), *range(0xE0000, 0xE1000)):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat == "Nd":
            digits[ch] = str(unicodedata.decimal(ch))
        elif cat in ("Cf", "Mn", "Me") or ch in "\u115f\u1160\u3164\uffa0":  # Hangul fillers render blank
            invisible.append(cp)
    cls = "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in _ranges(sorted([*map(ord, digits), *invisible])))
    return _Tables(digits, re2.compile(f"[{cls}]+".encode()))


def _ranges(cps: list[int]) -> Iterator[tuple[int, int]]:
    start = prev = cps[0]
    for cp in cps[1:]:
        if cp != prev + 1:
            yield start, prev
            start = cp
        prev = cp
    yield start, prev


def _utf8(text: str) -> bytes:
    # surrogatepass: a stray surrogate is no digit, and must not turn the check into a crash
    return text.encode("utf-8", "surrogatepass")


def _fold(text: str) -> bytes:
    """Step 1 of the rule but for whitespace runs, as UTF-8. ASCII text is returned as it is;
    other text costs one NFKC and one RE2 pass, plus a little for each run of the rare characters
    (non-ASCII digits, invisible ones), which are rewritten where they stand."""
    if text.isascii():
        return text.encode()
    data = _utf8(unicodedata.normalize("NFKC", text))
    t = _tables()
    out: list[bytes] = []
    last = 0
    for m in t.exotic.finditer(data):
        start, end = m.span()
        out += [
            data[last:start],
            _fold_run(
                m.group().decode("utf-8"),
                t.digits,
                data[start - 1 : start].isdigit(),
                data[end : end + 1].isdigit(),
            ),
        ]
        last = end
    return b"".join([*out, data[last:]]) if out else data


def _fold_run(run: str, digits: dict[str, str], digit_before: bool, digit_after: bool) -> bytes:
    # a run holds only non-ASCII digits and invisible characters; what borders it is neither
    res, pending, prev_digit = [], False, digit_before
    for ch in run:
        d = digits.get(ch)
        if d is None:
            pending = True
            continue
        if pending and prev_digit:
            res.append(" ")
        res.append(d)
        pending, prev_digit = False, True
    if pending and prev_digit and digit_after:
        res.append(" ")
    return "".join(res).encode()


def normalise(text: str) -> str:
    """The text as the rule reads it (see the module docstring, step 1)."""
    return _SPACES.sub(" ", _fold(text).decode("utf-8", "surrogatepass"))


def _chain_holds_nik(chain: str) -> bool:
    groups = _GROUP.findall(chain)
    seps = _GROUP.split(chain)[1:-1]  # seps[k] sits between groups[k] and groups[k + 1]
    for i, first in enumerate(groups):
        if first[0] == "0":
            continue
        if len(first) % NIK_DIGITS == 0:
            return True
        j, total = i, len(first)
        while total < NIK_DIGITS and j + 1 < len(groups):
            j += 1
            total += len(groups[j])
        if total != NIK_DIGITS:
            continue
        window = groups[i : j + 1]
        if all(len(g) == 4 and "1900" <= g <= "2099" for g in window):
            continue
        if len(set(seps[i:j])) == 1:
            return True
        # mixed separators only for a whole chain: a window cut out of a longer one, such as
        # "2345-6789/0813-9876" from two phone numbers, is no NIK written out
        if len(window) == len(groups) and tuple(map(len, window)) in _NIK_SHAPES:
            return True
    return False


def _exponent_in_range(mantissa: str, exponent: str) -> bool:
    if len(exponent) > 2:
        return False
    value = float(mantissa.replace(",", ".")) * 10.0 ** int(exponent)
    return 1e15 <= value < 1e16


def find_personal(text: str) -> str | None:
    """The first NIK/KK-shaped number in `text` (normalised), or None."""
    s = normalise(text)
    for m in _CHAIN.finditer(s):
        if _chain_holds_nik(m.group()):
            return m.group()
    for m in _EXPONENT.finditer(s):
        if _exponent_in_range(m.group(1), m.group(2)):
            return m.group()
    return None


def looks_personal(v: object) -> bool:
    """Whether one cell value holds a NIK or KK number, as a number or in its text."""
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, float):
        return v.is_integer() and 10**15 <= abs(v) < 10**16
    if isinstance(v, int) and 10**15 <= abs(v) < 10**16:
        return True
    s = str(v)
    # the RE2 prefilter first: it never says no to a NIK, and is several times cheaper per cell
    return may_hold_personal(s) and find_personal(s) is not None


@functools.cache
def _prefilter() -> _Re2Bytes:
    import re2  # only when text is scanned

    pattern: _Re2Bytes = re2.compile(_PREFILTER)  # re2 ships no types: the protocol says what we use
    return pattern


def may_hold_personal(text: str) -> bool:
    """False only if no part of `text` is personal by `looks_personal`; one RE2 pass.

    `text` may be many cells joined by "\\x00", which no separator crosses.
    """
    return _prefilter().search(_fold(text)) is not None


# ----------------------------------------------------------------------- contact details (issue 17)
# Survey exports carry what the form asked for: an e-mail address, a phone or WhatsApp number.
# Neither is a NIK/KK (the rule above leaves 12-13 digit phone numbers alone on purpose), so they
# have a rule of their own, on the same normalised text:
# * an e-mail address: name@domain.tld;
# * an Indonesian phone number: +62 then 8-12 digits, 62 then a mobile number (8 and 7-11 more
#   digits), or 08 then 8-12 digits; one space or dash may stand between any two digits, and the
#   number stands alone (no letter, digit, '.', '/' or '+' right before it, no digit after it);
# * a numeric cell whose digits read as a mobile number once Excel dropped the leading 0
#   (8 then 9-12 digits), or as one of the numbers above.
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w+./\-])(?:\+62(?:[ \-]?[0-9]){8,12}|62[ \-]?8(?:[ \-]?[0-9]){7,11}|08(?:[ \-]?[0-9]){8,12})"
    r"(?!\w|[ \-][0-9])"
)
_PHONE_NUMBER_CELL = re.compile(r"8[0-9]{9,12}|628[0-9]{7,11}")
# the prefilter: an '@', or nine digits with at most one space or dash between two of them (every
# phone number above has more)
_CONTACT_HINT = re.compile(r"@|[0-9](?:[ \-]?[0-9]){8}")


def find_contact(v: object) -> str | None:
    """'email' or 'phone' when one cell value holds an e-mail address or an Indonesian phone
    number (see the rule above), else None."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, float):
        if not v.is_integer():
            return None
        v = int(v)
    if isinstance(v, int):
        return "phone" if _PHONE_NUMBER_CELL.fullmatch(str(abs(v))) else None
    s = normalise(str(v))
    if "@" in s and _EMAIL.search(s):
        return "email"
    return "phone" if _PHONE.search(s) else None


def may_hold_contact(text: str) -> bool:
    """False only if no cell of `text` (cells joined by "\\x00") holds contact details by
    `find_contact`: one search for an '@' or a run of nine digits."""
    return _CONTACT_HINT.search(normalise(text)) is not None
