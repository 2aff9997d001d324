"""The core/UI contract: metrics/ never imports streamlit or plotly, and pages stay thin."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_imports_no_ui_libraries():
    code = (
        "import sys, importlib, pkgutil, metrics\n"
        "for m in pkgutil.iter_modules(metrics.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('metrics.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('streamlit', 'plotly'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_sql_only_in_the_store():
    """No module outside the store package runs SQL (a harlequin-style single adapter)."""
    offenders = []
    for path in (ROOT / "metrics").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "sql"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_cli_score_does_not_import_heavy_ui_or_writer_modules(tmp_path):
    code = (
        "import sys\n"
        "from metrics import cli\n"
        "import metrics.scoring\n"
        "print(','.join(sorted(n for n in ('streamlit','plotly','openpyxl','fpdf') if n in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_schema_version_is_true(tmp_path):
    """SCHEMA_VERSION names the last migration, and a new database is at it (a backup's
    schema check and the upgrade of an older file both rely on it)."""
    from metrics.store import MIGRATIONS, SCHEMA_VERSION, Store

    store = Store(tmp_path / "v.duckdb")
    try:
        assert SCHEMA_VERSION == len(MIGRATIONS) == store.schema_version()
    finally:
        store.close()
