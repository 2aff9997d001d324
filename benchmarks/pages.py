"""Dashboard figures: each page's script run (AppTest), the browser view, the server's memory.

* AppTest, in a fresh process per user: sign in, then for every page the user can open time
  the first run (cold: page imports, empty st.cache_data, a DuckDB that just opened the file),
  a rerun (warm: what every click costs) and a rerun after st.cache_data is cleared (new data:
  what the first view after an upload costs in a warm server).
* Headless Chromium (Debian's chromium through Playwright, no download) against
  `python -m ui.serve` on the national store: time until the overview's main number is
  visible and until every chart on it is drawn, with the browser cache warm; then every page is
  visited and the server process's resident memory read from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ----------------------------------------------------------------------------- AppTest (in a probe process)


def all_pages() -> list[str]:
    """Every page the admin may open, in menu order (pages/<name>.py): all but the OPD
    operator's home, which needs an OPD."""
    from ui import shell

    return [
        spec.file[:-3]
        for spec in shell.PAGE_SPECS
        if (shell.PAGES / spec.file).exists() and not spec.needs_opd
    ]


def apptest_probe(db: str, pages: str, repeat: int, username: str = "admin") -> dict:
    """Each page's own script, as st.navigation runs it, signed in, with the filters already chosen.

    AppTest.switch_page runs a page file without the router, so what the router would have put
    in the session (the signed-in user, the first city, the latest year) is set here.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from metrics import users
    from metrics.store import Store, utcnow
    from ui.shell import Filters

    os.environ["SMARTCITY_DB"] = db
    probe_store = Store(db, read_only=True, migrate=False)
    city = probe_store.cities()[0].city_code
    year = max(probe_store.years())
    user = users.get_user(probe_store, username)
    probe_store.close()
    now = utcnow()
    out = {}
    for page in pages.split(","):
        at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=600)
        at.session_state["filters"] = Filters(city, year, None, None)
        at.session_state["lang"] = "id"
        at.session_state["session"] = users.Session(user, now, now)
        t = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t
        errors = [str(e.value)[:200] for e in at.exception] + [str(e.value)[:200] for e in at.error]
        # what a page is for: numbers, charts, tables, the form's level choices, or (the help
        # page) a document to download
        shown = (
            len(at.metric)
            + len(at.get("plotly_chart"))
            + len(at.dataframe)
            + len(at.radio)
            + len(at.get("download_button"))
        )
        warm = []
        for _ in range(repeat):
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
        fresh = []
        for _ in range(repeat):
            st.cache_data.clear()
            t = time.perf_counter()
            at.run()
            fresh.append(time.perf_counter() - t)
        out[page] = {
            "cold": cold,
            "warm": warm,
            "fresh": fresh,
            "errors": errors,
            "elements": shown,
            "city": city,
            "year": year,
        }
    return out


# ----------------------------------------------------------------------------- the served app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served_dashboard(
    db: str | Path,
    log_path: Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    address: str | None = "127.0.0.1",
):
    """The dashboard served by `python -m ui.serve` (as the README starts it) on a free local port
    over database `db`, headless, usage statistics off; yields (url, process) once it answers its
    health check. `env` adds to the server's environment; `address=None` listens on every
    interface, as the README's command does. Shared by the browser benchmark and the tests that
    serve the dashboard."""
    port = _free_port()
    env = {**os.environ, "SMARTCITY_DB": str(db), "PYTHONPATH": str(ROOT), **(env or {})}
    where = [] if address is None else ["--server.address", address]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ui.serve",
                "--server.port",
                str(port),
                *where,
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError(f"streamlit exited early with code {proc.returncode}") from None
                    if time.monotonic() > deadline:
                        raise RuntimeError("streamlit did not become healthy in time") from None
                    time.sleep(0.3)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of a process, from /proc."""
    cur = peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak


def open_signed_in(
    pw,
    url: str,
    username: str,
    password: str,
    chromium: Path = CHROMIUM,
    timeout_ms: int = 120_000,
    **page_kw,
):
    """A fresh headless Chromium page on the served app, signed in through the real login form.

    Returns (browser, page, nav, external): `external` collects every request that left the app.
    Shared by the browser benchmark and tests/functional/test_e2e_browser.py.
    """
    from playwright.sync_api import expect

    from metrics import i18n

    browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="id-ID", **page_kw)
    external: list[str] = []
    page.on(
        "request", lambda r: external.append(r.url) if not r.url.startswith((url, "data:", "blob:")) else None
    )
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label(i18n.t("login.username", "id")).fill(username)
    page.get_by_label(i18n.t("login.password", "id")).fill(password)
    page.get_by_role("button", name=i18n.t("login.submit", "id")).click()
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_text(i18n.t("page.overview", "id"), exact=True)).to_be_visible(timeout=timeout_ms)
    # the sign-in's own run ends by moving to the role's home page; a click on the navigation
    # before that run is over is overridden by it (seen on a loaded machine), so wait it out
    expect(page.get_by_role("heading", name=i18n.t("login.title", "id"), level=1)).to_have_count(
        0, timeout=timeout_ms
    )
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout_ms)
    return browser, page, nav, external


def browser_probe(db: str, username: str, password: str, repeat: int, framework: str | None = None) -> dict:
    """Serve the dashboard, drive it with Chromium, return timings and the server's memory.

    With `framework` (a YAML file), the admin then loads it on the admin page: every city-year's
    score tables are rebuilt inside the server process, its most memory-hungry write."""
    from playwright.sync_api import expect, sync_playwright

    from metrics import i18n

    result: dict = {"main_number": [], "charts": [], "pages": {}}
    with served_dashboard(db, Path(db).with_suffix(".streamlit.log")) as (url, proc):
        result["rss_idle_mb"] = _rss_mb(proc.pid)[0]
        with sync_playwright() as pw:
            browser, page, nav, _external = open_signed_in(pw, url, username, password)

            def idle():
                page.wait_for_timeout(200)
                page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=120_000)

            def charts_drawn() -> None:
                # every plotly container on the page has its SVG: the charts are drawn
                page.wait_for_function(
                    "() => { const p = document.querySelectorAll('.js-plotly-plot');"
                    " return p.length > 0 && [...p].every(e => e.querySelector('.main-svg')); }",
                    timeout=120_000,
                )

            overview = nav.get_by_text(i18n.t("page.overview", "id"), exact=True)
            other = nav.get_by_text(i18n.t("page.rankings", "id"), exact=True)
            heading = page.get_by_role("heading", name=i18n.t("overview.title", "id"), level=1)
            # the first visit fills the browser cache (and the server's st.cache_data)
            overview.click()
            expect(heading).to_be_visible(timeout=120_000)
            idle()
            charts_drawn()
            for _ in range(repeat):
                other.click()
                idle()
                t = time.perf_counter()
                overview.click()
                expect(heading).to_be_visible(timeout=120_000)
                page.locator('[data-testid="stMetricValue"]').first.wait_for(state="visible", timeout=120_000)
                t_number = time.perf_counter() - t
                charts_drawn()
                idle()
                t_charts = time.perf_counter() - t
                result["main_number"].append(t_number)
                result["charts"].append(t_charts)
            # every page once, then the server's memory
            hrefs = nav.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            for href in hrefs:
                t = time.perf_counter()
                nav.locator(f'a[href="{href}"]').first.click()
                idle()
                result["pages"][urllib.parse.urlparse(href).path.strip("/") or "overview"] = (
                    time.perf_counter() - t
                )
            result["rss_mb"], result["rss_peak_mb"] = _rss_mb(proc.pid)
            if framework:
                nav.get_by_text(i18n.t("page.admin", "id"), exact=True).click()
                idle()
                page.get_by_role("tab", name=i18n.t("admin.tab.framework", "id")).click()
                page.locator('[data-testid="stFileUploader"]').filter(
                    has_text=i18n.t("admin.fw.upload", "id")
                ).locator('input[type="file"]').set_input_files(framework)
                idle()
                t = time.perf_counter()
                page.get_by_role("button", name=i18n.t("admin.fw.submit", "id")).click()
                # the confirmation, e.g. "Kerangka X dimuat (berlaku mulai 2015, 200 indikator)."
                done = i18n.t("admin.fw.done", "id").split("{id}")[1].split("{year}")[0].strip()
                expect(page.get_by_text(done)).to_be_visible(timeout=300_000)
                idle()
                result["framework_load_s"] = time.perf_counter() - t
                result["rss_after_framework_mb"], result["rss_peak_framework_mb"] = _rss_mb(proc.pid)
            browser.close()
    return result


# ----------------------------------------------------------------------------- runner side


def _run_probe(kind: str, *args: str) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.pages", kind, *args]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"pages probe {kind} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench(rep, wl: Path, sz, full: bool, tmp: Path, browser: bool = True) -> None:
    from benchmarks.generate import PASSWORD
    from benchmarks.run import Figure
    from metrics.keys import copy_database

    db = tmp / "pages.duckdb"
    copy_database(wl / "national.duckdb", db)
    repeat = 5 if full else 1
    pages = all_pages()
    # full: a fresh process per page, so that every page's cold run is really cold
    groups = [[p] for p in pages] if full else [pages]
    results: dict = {}
    for group in groups:
        results.update(_run_probe("apptest", str(db), ",".join(group), str(repeat)))
    errors = []
    for page, d in results.items():
        what = f"city {d['city']}, {d['year']}; {d['elements']} metrics/charts/tables/choices/downloads drawn"
        rep.add(
            Figure(
                f"page {page}: script run, warm",
                "ms",
                [x * 1000 for x in d["warm"]],
                target=150.0 if full else None,
                note=f"AppTest rerun; {what}",
            )
        )
        rep.add(
            Figure(
                f"page {page}: script run, new data",
                "ms",
                [x * 1000 for x in d["fresh"]],
                note="rerun after st.cache_data.clear(): the first view after an upload",
            )
        )
        rep.add(
            Figure(
                f"page {page}: script run, cold",
                "ms",
                [d["cold"] * 1000],
                target=1500.0 if full else None,
                note="first run in a fresh process" if full else "first run (one process for all pages)",
            )
        )
        errors += [f"{page}: {e}" for e in d["errors"]]
        rep.checks.setdefault("page_elements", {})[page] = d["elements"]
    rep.checks["page_errors"] = errors
    if errors:
        rep.notes.append("errors shown on pages: " + "; ".join(errors[:10]))
    missing = [s.file[:-3] for s in _specs() if not (ROOT / "pages" / s.file).exists()]
    if missing:
        rep.notes.append(f"pages not measured (not written yet): {', '.join(missing)}")
    if not browser:
        rep.notes.append("browser figures skipped (--no-browser)")
        return
    if not CHROMIUM.exists():
        rep.notes.append(
            f"browser figures not measured: no Chromium at {CHROMIUM} (apt-get install chromium)"
        )
        return
    b = _run_probe("browser", str(db), "admin", PASSWORD, str(repeat), str(wl / "framework.yaml"))
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    rep.add(
        Figure(
            "browser: overview main number visible (warm cache)",
            "ms",
            ms(b["main_number"]),
            target=1000.0 if full else None,
            note="headless Chromium, click in the menu to first metric value",
        )
    )
    rep.add(
        Figure(
            "browser: overview all charts drawn (warm cache)",
            "ms",
            ms(b["charts"]),
            target=2500.0 if full else None,
            note="every plotly chart has its SVG and the run is over",
        )
    )
    rep.add(
        Figure(
            "memory: dashboard server RSS after every page",
            "MB",
            [b["rss_mb"]],
            target=600.0 if full else None,
            note=f"peak {b['rss_peak_mb']:.0f} MB, idle {b['rss_idle_mb']:.0f} MB; pages visited: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in b["pages"].items()),
        )
    )
    rep.add(
        Figure(
            "memory: dashboard server peak RSS, pages then a framework load",
            "MB",
            [b["rss_peak_framework_mb"]],
            target=600.0 if full else None,
            note=f"the admin loads the framework on the admin page ({b['framework_load_s']:.1f} s): every "
            f"city-year's score tables rebuilt in the server; RSS after {b['rss_after_framework_mb']:.0f} MB",
        )
    )


def _specs():
    from ui import shell

    return shell.PAGE_SPECS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "apptest":
        _, db, pages, repeat = argv
        out = apptest_probe(db, pages, int(repeat))
    else:
        _, db, username, password, repeat, *framework = argv
        out = browser_probe(db, username, password, int(repeat), framework[0] if framework else None)
    sys.stdout.write("\n" + json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
