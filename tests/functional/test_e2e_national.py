"""National mode end to end (issue 19, "Done when"): two `python -m ui.serve` processes over one
PostgreSQL database behind nginx, configured from deploy/'s template, driven by headless Chromium.

The OPD operator signs in through the proxy, reloads (still signed in), is then sent to the OTHER
process (its routing cookie changed to one that the proxy hashes to the other backend, as happens
when a process restarts) and is still signed in there: the session lives in the database, not in a
process. Then it uploads a complete workbook through the proxy, and the submission, its original
file and its answers are read back from the store.

Needs Debian's nginx and chromium and a PostgreSQL server (tests/pg_cluster.py): skipped locally
with a message when one is missing, a failure under CI=true (.ci/run installs all three).
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import pytest

from benchmarks.pages import open_signed_in
from deploy.national import free_port, nginx_binary, render_nginx, running_nginx, running_servers
from metrics import entry, i18n, users
from metrics.demo import DEMO_PASSWORD
from tests.functional.test_e2e_browser import (  # noqa: F401 - chromium: the shared fixture
    SHOTS,
    _assert_no_error,
    _need,
    _screenshot,
    _wait_idle,
    chromium,
)

ACCOUNT, CITY, OPD, YEAR = "opd.kominfo", "3299", "01", 2024
FILE = "isian-nasional.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

pytestmark = pytest.mark.e2e


def L(key: str, **kw) -> str:
    text = i18n.t(key, "id")
    return text.format(**kw) if kw else text


@pytest.fixture(scope="module")
def nginx() -> str:
    binary = nginx_binary()
    _need(binary is not None, "nginx not found (apt-get install nginx)")
    return str(binary)


def _upstream_of(proxy: str, access_log: Path, route: str) -> str:
    """Which process the proxy sends a browser with routing cookie `route` to (its access log)."""
    req = urllib.request.Request(proxy + "/_stcore/health", headers={"Cookie": f"ikc_route={route}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    line = [ln for ln in access_log.read_text().splitlines() if ln.endswith(f" route={route}")][-1]
    return line.split("upstream=", 1)[1].split()[0]


def _stream_upstreams(access_log: Path) -> list[str]:
    """The process of each WebSocket the proxy has seen end, in order."""
    return [
        ln.split("upstream=", 1)[1].split()[0]
        for ln in access_log.read_text().splitlines()
        if "/_stcore/stream" in ln
    ]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_processes_behind_nginx_sign_in_reload_and_upload(
    chromium,  # noqa: F811 - the shared fixture
    nginx,
    backend,
    demo_store,
    pg_state_dir,
    tmp_path,
):
    from playwright.sync_api import expect, sync_playwright

    store = demo_store
    db = store.url
    user = users.get_user(store, ACCOUNT)
    assert user is not None
    complete = entry.template(store, user, CITY, OPD, YEAR).data  # the pre-filled template: every answer
    before = store.submissions_frame(CITY, OPD, YEAR)
    ports = [free_port(), free_port()]
    backends = [f"127.0.0.1:{p}" for p in ports]
    proxy_port = free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    site = render_nginx(backends, listen=f"127.0.0.1:{proxy_port}")
    env = {"SMARTCITY_STATE_DIR": str(pg_state_dir)}  # the same key and audit head for both
    access_log = tmp_path / "nginx" / "access.log"
    SHOTS.mkdir(parents=True, exist_ok=True)

    with (
        running_servers(db, ports, tmp_path / "logs", env),
        running_nginx(site, tmp_path / "nginx", proxy_port),
        sync_playwright() as pw,
    ):
        browser, page, nav, external = open_signed_in(pw, proxy, ACCOUNT, DEMO_PASSWORD, chromium, 60_000)
        try:
            title = page.locator('[data-testid="stHeading"] h1').first
            sidebar = page.locator('[data-testid="stSidebar"]')
            context = page.context

            def cookie(name: str) -> str | None:
                return next((c["value"] for c in context.cookies() if c["name"] == name), None)

            def signed_in(where: str) -> None:
                expect(sidebar.get_by_text(user.display_name)).to_be_visible(timeout=60_000)
                expect(page.get_by_label(L("login.password"))).to_have_count(0)
                _wait_idle(page)
                _assert_no_error(page, where)

            # the session cookie is set by a fetch the page makes right after the sign-in's run
            for _ in range(100):
                if cookie("ikc_session"):
                    break
                page.wait_for_timeout(200)
            route, session = cookie("ikc_route"), cookie("ikc_session")
            assert route and session, "the proxy's routing cookie and the app's session cookie are set"
            first = _upstream_of(proxy, access_log, route)
            assert first in backends
            # sticky: the same cookie reaches the same process every time
            assert {_upstream_of(proxy, access_log, route) for _ in range(4)} == {first}

            # --- a reload: same routing cookie, same process, still signed in
            page.reload(wait_until="domcontentloaded")
            signed_in("reload")
            assert cookie("ikc_session") == session

            # --- sent to the other process (as when its process restarts): still signed in there
            other = next(
                (c for c in (f"other-{n}" for n in range(64)) if _upstream_of(proxy, access_log, c) != first),
                None,
            )
            assert other is not None, "no routing cookie value reached the second process"
            context.add_cookies([{"name": "ikc_route", "value": other, "url": proxy}])
            page.reload(wait_until="domcontentloaded")
            signed_in("reload on the other process")
            page.wait_for_timeout(500)
            page.goto(proxy + "/", wait_until="domcontentloaded")  # ends the previous WebSocket
            signed_in("after the switch")
            streams = _stream_upstreams(access_log)
            assert set(streams) == set(backends), f"each process served a WebSocket: {streams}"

            # --- an upload through the proxy, on the process this tab is on
            nav.get_by_text(L("page.upload"), exact=True).click()
            expect(title).to_have_text(L("upload.title"), timeout=60_000)
            _wait_idle(page)
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                files=[{"name": FILE, "buffer": complete, "mimeType": XLSX}]
            )
            expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
                L("upload.accepted", file=FILE, n=1), timeout=60_000
            )
            _wait_idle(page)
            _assert_no_error(page, "upload (accepted)")
            _screenshot(page, "national-accepted")
        finally:
            browser.close()
    assert external == [], f"the browser fetched from outside the proxy: {external[:5]}"
    # the upload (an HTTP PUT) reached the process of the tab's WebSocket, which then stored it
    # (nginx logs a WebSocket when it closes: the last one is the tab's)
    puts = [ln for ln in access_log.read_text().splitlines() if "PUT /_stcore/upload_file/" in ln]
    assert puts, "the upload went through the proxy"
    tab = _stream_upstreams(access_log)[-1]
    assert {ln.split("upstream=", 1)[1].split()[0] for ln in puts} == {tab}

    # --- stored: one new submission in force, its original file and its answers in the database
    after = store.submissions_frame(CITY, OPD, YEAR)
    new = after[~after["id"].isin(before["id"])]
    assert len(new) == 1, new
    row = new.iloc[0]
    assert (row["file_name"], row["username"], row["kind"], bool(row["in_force"])) == (
        FILE,
        ACCOUNT,
        "assessment",
        True,
    )
    assert row["sha256"] == hashlib.sha256(complete).hexdigest()
    assert store.file_content(row["sha256"]) == complete
    answers = store.submission_rows(int(row["id"]))
    assert answers is not None and len(answers) == row["n_rows"] > 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_load_generator_runs_pages_and_uploads_through_the_proxy(nginx, backend, demo_store, tmp_path):
    """benchmarks/national_load.py at a toy size (the full run is 200 users): every simulated tab
    signs in, runs pages over its WebSocket and uploads through the proxy, without an error, and
    each accepted upload is a new submission in the store."""
    from benchmarks.national_load import per_process, simulate
    from deploy.national import national_stack

    before = len(demo_store.submissions_frame())
    with national_stack(tmp_path, processes=2, db=demo_store.url) as stack:
        result = simulate(
            stack["url"],
            stack["db"],
            users=4,
            seconds=8,
            think=(0.2, 0.5),
            upload_every=2,
            uploader_share=0.5,
        )
        processes = per_process(result, tmp_path / "nginx" / "access.log", result["elapsed_s"])
    assert result["errors"] == 0, result["error_kinds"]
    assert result["page_runs"] > 0 and result["uploads"] > 0
    assert result["uploads_ok"] == result["uploads"]
    assert len(demo_store.submissions_frame()) == before + result["uploads"]
    assert sum(p["tabs"] for p in processes.values()) == 4
    assert set(processes) <= {f"127.0.0.1:{port}" for port in stack["ports"]}
