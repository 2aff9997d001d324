"""docs/architecture.md matches the code: every module it names exists, and every module of the
core, the store, ui/ and pages/ is named in its module map.

The map is the fenced block under "## Module map": a line starting at column 0 names a folder
(`metrics/`) or a file (`dashboard.py`); a line indented by exactly two spaces names a file in the
last folder (`  scoring.py   ...`); deeper lines continue a description. Paths written anywhere
in the document (`tests/unit/test_i18n.py`, `metrics/locale/id.toml`) must exist too. The same
test keeps the pages' import contract in pyproject.toml complete: every core module is either an
entry point the document lists or forbidden to pages.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
# The folders whose every module the map must name (a package's __init__.py only marks it).
MAPPED_FOLDERS = ("metrics", "metrics/store", "metrics/store/pg", "ui", "pages")
ENTRY_POINTS_LEAD = "Entry points for pages:"


def _module_map(text: str) -> list[str]:
    """The paths (from the repository root) that the module map names, in order."""
    section = text.split("## Module map", 1)[1]
    block = section.split("```", 2)[1]
    named: list[str] = []
    folder = ""
    for line in block.splitlines():
        top = re.match(r"^([\w./-]+)(\s|$)", line)
        child = re.match(r"^  ([\w.-]+\.py)(\s|$)", line)
        if top:
            name = top.group(1)
            if name.endswith("/"):
                folder = name
            named.append(name)
        elif child:
            assert folder, f"{line!r} is indented but no folder line comes before it"
            named.append(folder + child.group(1))
    return named


def _paths_in_prose(text: str) -> set[str]:
    """Repository paths written anywhere: `a/b.py`, `a/b/c.toml` (globs and placeholders skipped)."""
    found = set(re.findall(r"(?<![\w/.<$-])((?:[\w-]+/)+[\w.-]+\.(?:py|toml|md|yaml|sql))\b", text))
    return {p for p in found if "*" not in p}


def _python_modules(folder: str) -> set[str]:
    return {f"{folder}/{p.name}" for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}


def test_every_module_the_map_names_exists() -> None:
    named = _module_map(DOC.read_text(encoding="utf-8"))
    assert len(named) > 40, "the module map was not found or not parsed"
    missing = [n for n in named if not (ROOT / n).exists()]
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_path_written_in_the_document_exists() -> None:
    missing = sorted(p for p in _paths_in_prose(DOC.read_text(encoding="utf-8")) if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"


def test_every_core_ui_and_page_module_is_in_the_map() -> None:
    named = set(_module_map(DOC.read_text(encoding="utf-8")))
    expected: set[str] = set()
    for folder in MAPPED_FOLDERS:
        if (ROOT / folder).is_dir():
            expected |= _python_modules(folder)
            assert f"{folder}/" in named, f"docs/architecture.md has no line for {folder}/"
    unnamed = sorted(expected - named)
    assert unnamed == [], f"modules missing from docs/architecture.md's module map: {unnamed}"


def test_the_pages_contract_places_every_core_module() -> None:
    """A core module is either an entry point pages may import (listed in the document) or
    forbidden to pages in pyproject.toml; a new module left out of both fails here."""
    text = DOC.read_text(encoding="utf-8")
    lead = text.split(ENTRY_POINTS_LEAD, 1)[1].split(".\n", 1)[0]
    entry_points = set(re.findall(r"`(metrics\.\w+)`", lead))
    assert "metrics.views" in entry_points, "the entry-point list was not found"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "pages-use-entry-points"
    ]
    forbidden = set(contract["forbidden_modules"])
    core = {f"metrics.{p.stem}" for p in (ROOT / "metrics").glob("*.py") if p.name != "__init__.py"}
    core |= {f"metrics.{p.name}" for p in (ROOT / "metrics").iterdir() if (p / "__init__.py").exists()}
    assert entry_points & forbidden == set(), "a module is both an entry point and forbidden to pages"
    assert sorted(core - entry_points - forbidden) == [], "core modules the pages contract does not place"
    assert sorted((entry_points | forbidden) - core) == [], (
        "the contract or document names modules that do not exist"
    )
