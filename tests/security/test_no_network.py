"""The dashboard server makes no network call of its own: started as the README starts it, it
looks up and connects to nothing but this machine, even when a page on another site tries to
open its WebSocket.

Streamlit, left alone, asks checkip.amazonaws.com for the machine's public address: for its
start-up banner when it listens on every interface, and when it checks the origin of a
cross-site WebSocket (on every attempt while the lookup fails, as it does on a network without
internet access). `python -m ui.serve` turns that lookup off; this test caught all four lookups
when the server was started with plain `streamlit run dashboard.py`.
"""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.pages import served_dashboard
from tests.netwatch import outside, watched_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_served_dashboard_looks_up_and_connects_to_nothing_outside(demo_db_file, tmp_path):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_file, db)
    # as the README starts it: on every interface
    with served_dashboard(db, tmp_path / "server.log", timeout=90, env=watched_env(tmp_path, [ROOT]),
                          address=None) as (url, _proc):
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200
        # a page on another site opens the dashboard's WebSocket: refused, having looked up nothing
        with pytest.raises(InvalidStatus) as refused:
            connect(url.replace("http://", "ws://") + "/_stcore/stream", origin="http://pengintai.example",
                    open_timeout=10).close()
        assert refused.value.response.status_code == 403
        time.sleep(0.5)
    assert outside(tmp_path) == [], (tmp_path / "server.log").read_text()[-2000:]
