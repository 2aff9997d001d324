"""The scoring rules: dimensions, pillars, indicators, rubrics and bands, loaded from YAML.

The framework is data, not code, because the national evaluation changes its indicators and
weights between years and every year must be scored under the rules that were in force then.
Loading validates everything up front and names the offending key, so a bad framework file
never reaches the store.

Loading is four steps, each testable alone: `load_yaml` (safe YAML), `to_file` (the document
converted to the typed `FrameworkFile` structs: types, required and unknown fields, ranges and
choices are checked by msgspec, and its error path becomes our located ValidationError),
`check_references` (the only hand-written rules: codes unique and referenced codes existing,
weights summing to 1, bands and thresholds ordered, levels covering the scale) and `build` (the
frozen Framework objects the rest of the core reads).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal, Protocol, TypeVar, get_args

import msgspec
import yaml

from metrics.errors import ValidationError
from metrics.registry import CATEGORIES

DEFAULT_FRAMEWORK_PATH = Path(__file__).resolve().parent.parent / "data" / "frameworks" / "default.yaml"

Aggregate = Literal["mean", "sum", "last", "min", "max"]
Direction = Literal["higher", "lower"]
MissingMode = Literal["zero", "exclude"]
# How a dimension is computed (issue 17): from the indicators' levels (the rubric), from the
# city's programme register (the share of its masterplan or quick-win programmes running), or
# from the citizen impact survey of selected programmes.
Method = Literal["rubric", "programmes", "survey"]
ProgrammeKind = Literal["masterplan", "quickwin"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
MISSING_MODES: tuple[str, ...] = get_args(MissingMode)
METHODS: tuple[str, ...] = get_args(Method)
PROGRAMME_KINDS: tuple[str, ...] = get_args(ProgrammeKind)
DEFAULT_MIN_RESPONDENTS = 50  # the national survey's floor per programme
# The key of a metric's thresholds that applies to a city with no category, or one the metric
# does not list; the other keys are registry.CATEGORIES.
DEFAULT_CATEGORY = "default"
THRESHOLD_KEYS: tuple[str, ...] = (DEFAULT_CATEGORY, *CATEGORIES)

Label = dict[str, str]  # {"id": str, "en": str}


# --------------------------------------------------------------------------- the objects the core reads


@dataclass(frozen=True)
class Band:
    min: float
    label: Label


@dataclass(frozen=True)
class Dimension:
    code: str
    name: Label
    weight: float
    method: str = "rubric"  # one of METHODS
    kind: str | None = None  # the programme kind a `programmes` dimension counts
    min_respondents: int = DEFAULT_MIN_RESPONDENTS  # a `survey` dimension's floor per programme
    # the weight a non-rubric dimension's pillar value carries in each pillar's value, in the
    # same units as indicator weights (see scoring's module docstring for the formula)
    pillar_weight: float = 1.0


@dataclass(frozen=True)
class Pillar:
    code: str
    name: Label
    parent: str | None = None  # set for sub-pillars


@dataclass(frozen=True)
class Metric:
    code: str
    unit: str
    aggregate: str
    direction: str
    thresholds: tuple[float, ...]  # the default thresholds (a city with no listed category)
    # per city category (registry.CATEGORIES), where the framework gives them: a kabupaten is
    # not held to a metropolitan's numbers
    category_thresholds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # the value is divided by the city's population that year and multiplied by this (e.g.
    # 100000: per 100,000 inhabitants) before the thresholds apply; None: the raw value
    per_population: float | None = None

    def thresholds_for(self, category: str | None) -> tuple[float, ...]:
        """The thresholds a city of `category` is held to (the default when none is listed)."""
        return self.category_thresholds.get(category or "", self.thresholds)


@dataclass(frozen=True)
class Indicator:
    code: str
    pillar: str  # top-level pillar code
    subpillar: str | None
    dimension: str
    weight: float
    opd_types: tuple[str, ...]
    name: Label
    levels: dict[int, Label]
    metric: Metric | None = None
    # the indicator may be answered "tidak berlaku" (not applicable) with a reason; once an
    # assessor confirms it, it leaves its dimension's and pillar's denominators and completeness
    allow_na: bool = False
    # the evidence ("bukti dukung") each level requires, by level: the form shows it as a
    # checklist, the assessor marks each item met or not (issue 18)
    evidence: dict[int, tuple[Label, ...]] = field(default_factory=dict)

    def evidence_for(self, level: int) -> tuple[Label, ...]:
        """The evidence items required at `level`."""
        return self.evidence.get(level, ())


class HasMin(Protocol):
    @property
    def min(self) -> float: ...


B = TypeVar("B", bound=HasMin)


def highest_band(bands: Iterable[B], value: float | None) -> B | None:
    """The highest of `bands` (anything with a `min`, kept in ascending order) that `value`
    reaches; None for no value (None or NaN)."""
    if value is None or value != value:
        return None
    chosen = None
    for b in bands:
        if value >= b.min - 1e-12:
            chosen = b
    return chosen


@dataclass(frozen=True)
class Framework:
    id: str
    applies_from: int
    name: Label
    scale_min: int
    scale_max: int
    missing: str
    bands: tuple[Band, ...]
    dimensions: tuple[Dimension, ...]
    pillars: tuple[Pillar, ...]  # top-level pillars, in order
    subpillars: tuple[Pillar, ...]
    indicators: tuple[Indicator, ...]
    source: str = field(default="", repr=False, compare=False)

    def indicator(self, code: str) -> Indicator | None:
        return self._indicators_by_code.get(code)

    @property
    def _indicators_by_code(self) -> dict[str, Indicator]:
        cache: dict[str, Indicator] | None = self.__dict__.get("_ind_cache")
        if cache is None:
            cache = {i.code: i for i in self.indicators}
            object.__setattr__(self, "_ind_cache", cache)
        return cache

    def metric_codes(self) -> dict[str, Indicator]:
        return {i.metric.code: i for i in self.indicators if i.metric}

    def band(self, index: float | None) -> Band | None:
        return highest_band(self.bands, index)

    def dimension(self, code: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.code == code), None)

    def rubric_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.method == "rubric")

    def indicators_for_opd_type(self, opd_type: str) -> list[Indicator]:
        return [i for i in self.indicators if opd_type in i.opd_types]

    def answerable(self, opd_type: str) -> dict[str, Indicator]:
        """Code -> indicator, for the indicators an OPD of `opd_type` answers (kept per type)."""
        cache: dict[str, dict[str, Indicator]] | None = self.__dict__.get("_answerable_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_answerable_cache", cache)
        if opd_type not in cache:
            cache[opd_type] = {i.code: i for i in self.indicators_for_opd_type(opd_type)}
        return cache[opd_type]


# --------------------------------------------------------------------------- the file, as typed structs

# the largest finite float as both bounds: msgspec then refuses NaN and the infinities
_FMAX = sys.float_info.max
Number = Annotated[float, msgspec.Meta(ge=-_FMAX, le=_FMAX)]
Positive = Annotated[float, msgspec.Meta(gt=0, le=_FMAX)]
Code = Annotated[str, msgspec.Meta(min_length=1)]
NonBlank = Annotated[str, msgspec.Meta(pattern=r"\S")]
Year = Annotated[int, msgspec.Meta(ge=1900, le=2200)]


class _Struct(msgspec.Struct, forbid_unknown_fields=True):
    """A framework file's mapping: a misspelt key is refused rather than silently ignored."""


class LabelEntry(_Struct):
    id: NonBlank
    en: str | None = None


LabelText = str | LabelEntry  # a plain string is the same text in both languages


class ScaleEntry(_Struct):
    min: int
    max: int


class BandEntry(_Struct):
    min: Number
    label: LabelText


class DimensionEntry(_Struct):
    code: Code
    name: LabelText
    weight: Positive
    method: Method = "rubric"
    kind: ProgrammeKind | None = None
    min_respondents: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = DEFAULT_MIN_RESPONDENTS
    pillar_weight: Positive = 1.0


class SubpillarEntry(_Struct):
    code: Code
    name: LabelText


class PillarEntry(_Struct):
    code: Code
    name: LabelText
    subpillars: list[SubpillarEntry] | None = None


class MetricEntry(_Struct):
    code: Code
    # one list for every city, or a list per city category with `default` for the rest
    thresholds: list[Number] | dict[str, list[Number]]
    unit: str = ""
    aggregate: Aggregate = "mean"
    direction: Direction = "higher"
    per_population: Positive | None = None


class IndicatorEntry(_Struct):
    code: NonBlank
    pillar: str
    dimension: str
    opd_types: Code | Annotated[list[Code], msgspec.Meta(min_length=1)]
    name: LabelText
    levels: dict[int, LabelText]
    weight: Positive = 1.0
    metric: MetricEntry | None = None
    allow_na: bool = False
    evidence: dict[int, Annotated[list[LabelText], msgspec.Meta(min_length=1)]] | None = None


class FrameworkFile(_Struct):
    id: NonBlank
    applies_from: Year
    name: LabelText
    scale: ScaleEntry
    bands: Annotated[list[BandEntry], msgspec.Meta(min_length=1)]
    dimensions: Annotated[list[DimensionEntry], msgspec.Meta(min_length=1)]
    pillars: Annotated[list[PillarEntry], msgspec.Meta(min_length=1)]
    indicators: Annotated[list[IndicatorEntry], msgspec.Meta(min_length=1)]
    missing: MissingMode = "zero"


# --------------------------------------------------------------------------- step 1: YAML


def load_yaml(text: str) -> object:
    """The YAML document, read with the safe loader; a syntax error is a located ValidationError."""
    try:
        # the C loader when available: same safe subset, ten times faster on a 60-indicator file
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ValidationError("fw.invalid", key="(yaml)", detail=str(exc).splitlines()[0]) from None


# --------------------------------------------------------------------------- step 2: types


def to_file(doc: object) -> FrameworkFile:
    """`doc` converted to the typed structs, or a ValidationError naming the key path."""
    try:
        return msgspec.convert(doc, FrameworkFile)
    except msgspec.ValidationError as exc:
        raise located_error(str(exc), doc) from None


# msgspec's messages (pinned version; tests/unit/test_framework.py covers each form) -> our keys
_MSGSPEC_FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"Object missing required field `(?P<field>[^`]+)`", "fw.missing_field"),
        (r"Object contains unknown field `(?P<field>[^`]+)`", "fw.unknown_field"),
        (r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`", "fw.wrong_type"),
        (r"Expected `(?:array|str)` of length >= 1", "fw.empty"),
        (r"Expected `str` matching regex .*", "fw.blank"),
        (r"Expected `(?:int|float)` (?P<op>[<>]=?) (?P<bound>\S+)", "fw.out_of_range"),
        (r"Invalid enum value (?P<value>.+)", "fw.not_one_of"),
    )
)
_CHOICES = {
    "aggregate": AGGREGATES,
    "direction": DIRECTIONS,
    "missing": MISSING_MODES,
    "method": METHODS,
    "kind": PROGRAMME_KINDS,
}


def located_error(message: str, doc: object) -> ValidationError:
    """A msgspec error message ('Expected `float` > 0.0 - at `$.indicators[3].weight`') as the
    project's ValidationError, with the key path as the framework's author reads it
    ('indicators[G1].weight') and a text in both languages."""
    detail, sep, where = message.rpartition(" - at ")
    if not sep:
        detail, where = message, "`$`"
    key = key_path(where, doc)
    for pattern, msg_key in _MSGSPEC_FORMS:
        m = pattern.fullmatch(detail)
        if m is None:
            continue
        params = m.groupdict()
        if "field" in params:
            return ValidationError(msg_key, key=_join(key, params["field"]))
        if msg_key == "fw.out_of_range" and abs(float(params["bound"])) == _FMAX:
            return ValidationError("fw.not_finite", key=key)
        if msg_key == "fw.not_one_of":
            last = re.split(r"[.\[]", key)[-1]
            params["allowed"] = ", ".join(_CHOICES.get(last, ()))
        return ValidationError(msg_key, key=key, **params)
    return ValidationError("fw.invalid", key=key, detail=detail)


def _join(key: str, name: str) -> str:
    return name if key == "(root)" else f"{key}.{name}"


_SEGMENT = re.compile(r"\.(\w+)|\[(\d+)\]|\[\.\.\.\]")


def key_path(where: str, doc: object) -> str:
    """msgspec's location (`$.indicators[0].levels[...]`, or '`key` in `$...`' for a bad mapping
    key) as a key path: indicators named by their code once it is known (`indicators[G1]`), and
    the mapping key msgspec elides as `[...]` found again in the document (`levels.5`)."""
    path = where.rsplit(" in ", 1)[-1].strip("`")
    parts: list[str] = []
    node: object = doc
    for m in _SEGMENT.finditer(path.removeprefix("$")):
        name, index = m.group(1), m.group(2)
        if name is not None:
            parts.append(f".{name}" if parts else name)
            node = node.get(name) if isinstance(node, dict) else None
        elif index is not None:
            item = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
            code = item.get("code") if isinstance(item, dict) and parts[-1:] == ["indicators"] else None
            parts.append(f"[{code}]" if isinstance(code, str) and code.strip() else f"[{index}]")
            node = item
        else:  # a mapping value (only levels are mappings): the first entry that is not a label
            key = _first_bad_value(node, LabelText)
            parts.append(f".{key}")
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(root)"


def _first_bad_value(mapping: object, kind: object) -> object:
    if isinstance(mapping, dict):
        for k, v in mapping.items():
            try:
                msgspec.convert(v, kind)
            except msgspec.ValidationError:
                return k
    return "?"


# --------------------------------------------------------------------------- step 3: cross-references


def check_scale(f: FrameworkFile) -> None:
    if f.scale.min >= f.scale.max:
        raise ValidationError("fw.scale_order", key="scale")


def check_bands(f: FrameworkFile) -> None:
    lo, hi = f.scale.min, f.scale.max
    for n, b in enumerate(f.bands):
        if not lo <= b.min <= hi:
            raise ValidationError("fw.outside_scale", key=f"bands[{n}].min", value=b.min, lo=lo, hi=hi)
    mins = [b.min for b in f.bands]
    if mins != sorted(set(mins)):
        raise ValidationError("fw.bands_order", key="bands")


def check_dimensions(f: FrameworkFile) -> None:
    _unique((d.code for d in f.dimensions), lambda n: f"dimensions[{n}].code")
    total = sum(d.weight for d in f.dimensions)
    if abs(total - 1.0) > 1e-9:
        raise ValidationError("fw.weights_sum", key="dimensions", total=round(total, 9))


def check_methods(f: FrameworkFile) -> None:
    """A `programmes` dimension names the kind it counts, and no other dimension names one; no
    kind and no survey is counted twice (each would count the same programmes again)."""
    counted: list[str] = []
    for n, d in enumerate(f.dimensions):
        if d.method == "programmes" and d.kind is None:
            raise ValidationError("fw.method_needs_kind", key=f"dimensions[{n}].kind")
        if d.method != "programmes" and d.kind is not None:
            raise ValidationError("fw.kind_without_programmes", key=f"dimensions[{n}].kind")
        counted.append(f"{d.method}:{d.kind}" if d.method != "rubric" else f"rubric:{n}")
    _unique(counted, lambda n: f"dimensions[{n}].method")
    if not any(d.method == "rubric" for d in f.dimensions):
        raise ValidationError("fw.no_rubric_dimension", key="dimensions")


def check_pillars(f: FrameworkFile) -> None:
    """Pillar and sub-pillar codes are unique together: an indicator names either."""
    keyed: list[tuple[str, str]] = []
    for n, p in enumerate(f.pillars):
        keyed.append((p.code, f"pillars[{n}].code"))
        keyed += [(s.code, f"pillars[{n}].subpillars[{m}].code") for m, s in enumerate(p.subpillars or ())]
    _unique((code for code, _ in keyed), lambda n: keyed[n][1])


def check_indicator_codes(f: FrameworkFile) -> None:
    _unique((i.code for i in f.indicators), lambda n: f"indicators[{f.indicators[n].code}].code")
    metrics = [(i.code, i.metric.code) for i in f.indicators if i.metric]
    _unique((m for _, m in metrics), lambda n: f"indicators[{metrics[n][0]}].metric.code")


def check_indicator_references(f: FrameworkFile) -> None:
    pillars = {p.code for p in f.pillars} | {s.code for p in f.pillars for s in p.subpillars or ()}
    method_of = {d.code: d.method for d in f.dimensions}
    for i in f.indicators:
        if i.pillar not in pillars:
            raise ValidationError("fw.unknown_pillar", key=f"indicators[{i.code}].pillar", code=i.pillar)
        if i.dimension not in method_of:
            raise ValidationError(
                "fw.unknown_dimension", key=f"indicators[{i.code}].dimension", code=i.dimension
            )
        if method_of[i.dimension] != "rubric":
            # a programmes or survey dimension is scored from the register and the survey alone
            raise ValidationError(
                "fw.indicator_in_method_dimension",
                key=f"indicators[{i.code}].dimension",
                code=i.dimension,
                method=method_of[i.dimension],
            )


def check_levels(f: FrameworkFile) -> None:
    lo, hi = f.scale.min, f.scale.max
    for i in f.indicators:
        for level in i.levels:
            if not lo <= level <= hi:
                raise ValidationError(
                    "fw.outside_scale", key=f"indicators[{i.code}].levels.{level}", value=level, lo=lo, hi=hi
                )
        if sorted(i.levels) != list(range(lo, hi + 1)):
            raise ValidationError("fw.levels_incomplete", key=f"indicators[{i.code}].levels", lo=lo, hi=hi)
        for level in i.evidence or {}:
            if not lo <= level <= hi:
                raise ValidationError(
                    "fw.outside_scale",
                    key=f"indicators[{i.code}].evidence.{level}",
                    value=level,
                    lo=lo,
                    hi=hi,
                )


def check_thresholds(f: FrameworkFile) -> None:
    """A metric has one threshold per level above the minimum, ordered in its direction; given
    per city category, the keys are `default` (required) and registry.CATEGORIES."""
    steps = f.scale.max - f.scale.min
    for i in f.indicators:
        if i.metric is None:
            continue
        base = f"indicators[{i.code}].metric.thresholds"
        lists = {"": i.metric.thresholds} if isinstance(i.metric.thresholds, list) else i.metric.thresholds
        if isinstance(i.metric.thresholds, dict) and DEFAULT_CATEGORY not in lists:
            raise ValidationError("fw.thresholds_default", key=base)
        for category, th in lists.items():
            key = f"{base}.{category}" if category else base
            if category and category not in THRESHOLD_KEYS:
                raise ValidationError("fw.thresholds_category", key=key, allowed=", ".join(THRESHOLD_KEYS))
            if len(th) != steps:
                raise ValidationError("fw.thresholds_count", key=key, n=steps)
            if not all(a < b if i.metric.direction == "higher" else a > b for a, b in pairwise(th)):
                raise ValidationError("fw.thresholds_order", key=key)


# in order: a later check may rely on an earlier one (bands and levels on a valid scale)
CHECKS: tuple[Callable[[FrameworkFile], None], ...] = (
    check_scale,
    check_bands,
    check_dimensions,
    check_methods,
    check_pillars,
    check_indicator_codes,
    check_indicator_references,
    check_levels,
    check_thresholds,
)


def check_references(f: FrameworkFile) -> None:
    """Every rule the types cannot state; the first broken one raises a located ValidationError."""
    for check in CHECKS:
        check(f)


def _unique(codes: Iterable[str], key_of: Callable[[int], str]) -> None:
    seen: set[str] = set()
    for n, code in enumerate(codes):
        if code in seen:
            raise ValidationError("fw.duplicate", key=key_of(n), code=code)
        seen.add(code)


# --------------------------------------------------------------------------- step 4: the Framework


def label(entry: LabelText) -> Label:
    if isinstance(entry, str):
        return {"id": entry, "en": entry}
    en = entry.en if entry.en is not None and entry.en.strip() else entry.id
    return {"id": entry.id, "en": en}


def _pillars(f: FrameworkFile) -> Iterator[tuple[Pillar, list[Pillar]]]:
    for p in f.pillars:
        yield (
            Pillar(p.code, label(p.name)),
            [Pillar(s.code, label(s.name), parent=p.code) for s in p.subpillars or ()],
        )


def _metric(m: MetricEntry) -> Metric:
    by_category = m.thresholds if isinstance(m.thresholds, dict) else {DEFAULT_CATEGORY: m.thresholds}
    return Metric(
        m.code,
        m.unit,
        m.aggregate,
        m.direction,
        tuple(float(x) for x in by_category[DEFAULT_CATEGORY]),
        category_thresholds={
            c: tuple(float(x) for x in th) for c, th in by_category.items() if c != DEFAULT_CATEGORY
        },
        per_population=float(m.per_population) if m.per_population is not None else None,
    )


def _indicator(i: IndicatorEntry, parent_of: dict[str, str]) -> Indicator:
    sub = i.pillar if i.pillar in parent_of else None
    m = i.metric
    return Indicator(
        code=i.code,
        pillar=parent_of.get(i.pillar, i.pillar),
        subpillar=sub,
        dimension=i.dimension,
        weight=i.weight,
        opd_types=(i.opd_types,) if isinstance(i.opd_types, str) else tuple(i.opd_types),
        name=label(i.name),
        levels={k: label(v) for k, v in i.levels.items()},
        metric=None if m is None else _metric(m),
        allow_na=i.allow_na,
        evidence={k: tuple(label(x) for x in v) for k, v in sorted((i.evidence or {}).items())},
    )


def build(f: FrameworkFile, source: str = "") -> Framework:
    """The Framework of a checked file (run `check_references` first)."""
    pillars = list(_pillars(f))
    subs = [s for _, ss in pillars for s in ss]
    parent_of = {s.code: s.parent for s in subs if s.parent is not None}
    return Framework(
        id=f.id,
        applies_from=f.applies_from,
        name=label(f.name),
        scale_min=f.scale.min,
        scale_max=f.scale.max,
        missing=f.missing,
        bands=tuple(Band(float(b.min), label(b.label)) for b in f.bands),
        dimensions=tuple(
            Dimension(
                d.code,
                label(d.name),
                float(d.weight),
                method=d.method,
                kind=d.kind,
                min_respondents=d.min_respondents,
                pillar_weight=float(d.pillar_weight),
            )
            for d in f.dimensions
        ),
        pillars=tuple(p for p, _ in pillars),
        subpillars=tuple(subs),
        indicators=tuple(_indicator(i, parent_of) for i in f.indicators),
        source=source,
    )


def parse_framework(text: str) -> Framework:
    """Parse and validate framework YAML; raise ValidationError naming the bad key."""
    f = to_file(load_yaml(text))
    check_references(f)
    return build(f, text)


def load_framework(path: str | Path) -> Framework:
    return parse_framework(Path(path).read_text(encoding="utf-8"))


def framework_for_year(frameworks: list[tuple[Framework, int]], year: int) -> Framework | None:
    """The framework in force for `year`: greatest applies_from <= year, ties to the one loaded last.

    `frameworks` pairs each framework with its load sequence number.
    """
    best: tuple[int, int] | None = None
    chosen = None
    for fw, seq in frameworks:
        if fw.applies_from <= year and (best is None or (fw.applies_from, seq) > best):
            best, chosen = (fw.applies_from, seq), fw
    return chosen
