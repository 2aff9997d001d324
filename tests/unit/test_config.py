"""The shipped Streamlit configuration stays hardened, and no secret is committed.

Reads .streamlit/config.toml with tomllib and fails if any setting regresses: usage statistics
off and the server address named (no calls home), XSRF protection on, error details hidden from
users, the upload cap equal to the core's (so Streamlit refuses a too-large file before the core
sees it, with the same limit), no development mode. Secrets live only in .streamlit/secrets.toml,
which git ignores; the repository ships secrets.toml.example with every value commented out.
"""

from __future__ import annotations

import tomllib

from metrics.readers import DEFAULT_LIMITS
from tests.conftest import ROOT

CONFIG = ROOT / ".streamlit" / "config.toml"


def _config() -> dict:
    with CONFIG.open("rb") as f:
        return tomllib.load(f)


def test_usage_statistics_off():
    assert _config()["browser"]["gatherUsageStats"] is False


def test_server_address_named_so_the_banner_looks_up_nothing():
    # unnamed, Streamlit's start-up banner asks checkip.amazonaws.com for the public address
    assert _config()["browser"]["serverAddress"] == "localhost"


def test_xsrf_protection_on():
    assert _config()["server"]["enableXsrfProtection"] is True


def test_error_details_hidden():
    assert _config()["client"]["showErrorDetails"] in ("none", False)


def test_upload_cap_matches_the_core():
    cfg = _config()
    assert (
        cfg["server"]["maxUploadSize"] * 1024 * 1024 == DEFAULT_LIMITS.max_bytes
    )  # Streamlit's MB is 2**20 bytes


def test_production_switches():
    cfg = _config()
    assert cfg["server"]["headless"] is True
    assert cfg["server"].get("runOnSave", False) is False
    assert cfg.get("global", {}).get("developmentMode", False) is False
    assert cfg["client"].get("toolbarMode") in ("minimal", "viewer")


def test_streamlit_reads_the_same_values():
    """The file is valid for this Streamlit version: its own config loader agrees."""
    from streamlit import config

    config.get_config_options(force_reparse=True, options_from_flags={})
    try:
        assert config.get_option("browser.gatherUsageStats") is False
        assert config.get_option("server.enableXsrfProtection") is True
        assert config.get_option("server.maxUploadSize") * 1024 * 1024 == DEFAULT_LIMITS.max_bytes
    finally:
        config.get_config_options(force_reparse=True, options_from_flags={})


def test_no_secrets_in_the_repository():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in [line.strip() for line in ignored]
    example = ROOT / ".streamlit" / "secrets.toml.example"
    assert example.exists()
    for line in example.read_text().splitlines():
        s = line.strip()
        assert not s or s.startswith("#"), f"secrets.toml.example must hold no live value: {line!r}"
    # nothing that looks like a secret file sits in the tree outside what git ignores
    for name in ("secrets.toml", ".env", "credentials.json"):
        for p in ROOT.rglob(name):
            rel = p.relative_to(ROOT).as_posix()
            if rel.startswith((".venv/", "node_modules/")):
                continue
            assert rel in [line.strip() for line in ignored], f"{rel} would be committed"


def test_dashboard_caps_duckdb_memory(tmp_path, monkeypatch):
    """The dashboard's DuckDB runs under a memory cap (ui.shell.DUCKDB_MEMORY, overridable), so a
    national framework load keeps the server process under its 600 MB budget."""
    import streamlit as st

    from tests.conftest import make_mini_store
    from ui import shell

    for name in ("capped.duckdb", "other.duckdb"):
        make_mini_store(tmp_path / name).close()
    monkeypatch.setenv("SMARTCITY_DB", str(tmp_path / "capped.duckdb"))
    monkeypatch.delenv("SMARTCITY_DUCKDB_MEMORY", raising=False)

    def limit() -> str:
        with shell.get_store().cursor() as cur:
            return cur.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    st.cache_resource.clear()
    try:
        assert shell.DUCKDB_MEMORY == "256MB" and limit() == "244.1 MiB"  # DuckDB shows MiB
        # (DuckDB opens a file once per process and configuration: the override gets its own file)
        monkeypatch.setenv("SMARTCITY_DB", str(tmp_path / "other.duckdb"))
        monkeypatch.setenv("SMARTCITY_DUCKDB_MEMORY", "100MB")
        assert limit() == "95.3 MiB"
    finally:
        st.cache_resource.clear()
