"""The store behind one interface: `metrics.storage.Storage`, implemented by `metrics.store.Store`.

A second backend implements the same protocol, so the core must reach the database only through
it: every protocol member exists on Store with the same parameters, the core annotates with the
protocol, and only the modules that open a database import the concrete class.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from metrics.storage import Storage
from metrics.store import Store

ROOT = Path(__file__).resolve().parents[2]

# The modules that open a database, and so may name the concrete class: the command line, the
# restore (it builds the new file with our own migrations), `copy` (metrics.transfer) and the
# dashboard's shell.
CONSTRUCTORS = {"metrics/cli.py", "metrics/backup.py", "metrics/transfer.py", "ui/shell.py"}


def _core_files() -> list[Path]:
    return [*(ROOT / "metrics").glob("*.py"), *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]


def _protocol_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(Storage).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def _shape(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


def test_store_has_every_protocol_method_with_its_parameters():
    methods = _protocol_methods()
    assert len(methods) > 80  # the protocol lists what the core uses, not a token subset
    missing = sorted(name for name in methods if not callable(getattr(Store, name, None)))
    assert missing == []
    different = {}
    for name, sig in methods.items():
        impl = inspect.signature(getattr(Store, name))
        ours, theirs = _shape(sig), _shape(impl)
        # an implementation may add optional parameters after the protocol's, nothing else
        extra = theirs[len(ours) :]
        if theirs[: len(ours)] != ours or any(d is inspect.Parameter.empty for _, _, d in extra):
            different[name] = (str(sig), str(impl))
    assert different == {}


def test_store_has_the_protocol_attributes(tmp_path):
    store = Store(tmp_path / "a.duckdb")
    try:
        for name in ("path", "memory_limit", "audit_key"):
            assert name in Storage.__annotations__
            assert hasattr(store, name), name
    finally:
        store.close()


def test_the_core_uses_only_the_protocol_methods_the_store_has():
    """Every `store.x` the core calls is a protocol member (so a second backend that implements
    the protocol runs the core)."""
    members = set(_protocol_methods()) | set(Storage.__annotations__)
    called: dict[str, set[str]] = {}
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("store", "_store")
                and not node.attr[0].isupper()
            ):
                called.setdefault(node.attr, set()).add(path.name)
    assert {k: sorted(v) for k, v in called.items() if k not in members} == {}


def _imports_store_class(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "metrics.store"
            and any(a.name == "Store" for a in node.names)
        ):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Store":
            return True
    return False


def _constructs_store(tree: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Store"
        for n in ast.walk(tree)
    )


def test_only_the_modules_that_open_a_database_import_the_concrete_store():
    importing = set()
    for path in _core_files():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text())
        if _imports_store_class(tree):
            importing.add(rel)
            assert _constructs_store(tree), f"{rel} imports Store without opening one: annotate with Storage"
    assert importing <= CONSTRUCTORS, sorted(importing - CONSTRUCTORS)


def test_the_store_parses_no_framework_text():
    """Stored framework sources come back as text; metrics.loaded_frameworks parses them."""
    for path in (ROOT / "metrics" / "store").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names} | {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
        }
        assert "parse_framework" not in names, path.name
        assert not any(
            isinstance(n, ast.Import) and any(a.name == "yaml" for a in n.names) for n in ast.walk(tree)
        )
