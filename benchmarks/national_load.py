"""Issue 19's load target: simulated users against two dashboard processes behind nginx.

    .venv/bin/python -m benchmarks.national_load [--users 200] [--seconds 60] [--processes 2]

Starts everything itself, on 127.0.0.1 only (deploy/national.py: a throwaway PostgreSQL cluster
with `init --demo`, N `python -m ui.serve` processes, nginx from deploy/'s template), runs the
users for a bounded time, stops everything and prints (or writes, --json FILE) the figures.

What one simulated user does, all through the proxy, as a browser tab does it:
  GET / (the proxy's routing cookie) -> sign-in -> the tab's WebSocket (/_stcore/stream) -> page
  runs, one after another with a think time between them; the OPD operators among them also
  upload their workbook (Streamlit's own upload protocol: ask for an upload URL over the
  WebSocket, PUT the file to it over HTTP, rerun with the uploader's state), which stores a new
  submission and rebuilds the city's scores.
The sign-in's password check runs here through the core (users.login; argon2 once per user,
before the timed part) and the session cookie is set through the app's real route
(POST /_ikc/session with the one-time ticket), not by typing into the login form.

What a "page response" is here: a page run requested over the tab's WebSocket (BackMsg
rerun_script with the page's name), timed until the server reports the script finished, with
every element it sent received and decoded on the way (the proxy included). It is the server's
side of a click: it does not include the browser drawing the elements (charts, grids), which
tests/functional/test_e2e_browser.py and benchmarks/pages.py measure in Chromium. An error is a
run that shows an exception or an error box, does not finish, or a failed request.

Why not locust (issue 19 names it): a Streamlit page run is not an HTTP request but a protobuf
exchange over a WebSocket, which locust's HTTP users cannot make; a custom locust user would run
the same client code as here under gevent's monkey-patching and add about 15 packages
(gevent, Flask, ...) for one benchmark. Plain threads with the WebSocket client Streamlit itself
depends on (`websockets`) and httpx do the same work, bounded in count and time.

The client runs on the same 2-core machine as the processes, nginx and PostgreSQL: 200 client
threads decoding every message compete with the servers for the cores, so the figures are a
lower bound of what two processes on cores of their own would serve.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

READ_PAGES = ("", "rankings", "compare", "drilldown", "completeness", "matrix")
# "": the role's home, the default page (a reader's is the overview; an OPD operator's Beranda)
OPD_PAGES = ("", "overview", "history")
UPLOADERS = ("opd.kominfo", "opd.dinkes")  # the demo's OPD operators
READERS = ("walikota", "admin", "penilai")
YEAR = 2024
RUN_TIMEOUT = 60.0


@dataclass
class Run:
    page: str
    seconds: float
    ok: bool
    error: str = ""
    upload: bool = False


@dataclass
class Tab:
    """One browser tab: an HTTP client (cookies) and its WebSocket to one process."""

    proxy: str
    http: object = None
    ws: object = None
    session_id: str = ""
    route: str = ""
    runs: list[Run] = field(default_factory=list)

    def open(self, ticket: Callable[[], str]) -> None:
        import httpx
        from websockets.sync.client import connect

        self.http = httpx.Client(base_url=self.proxy, timeout=30)
        http = self.http
        http.get("/").raise_for_status()  # the proxy's routing cookie
        http.get("/_stcore/health").raise_for_status()  # Streamlit's XSRF cookie
        origin = self.proxy
        # the one-time ticket (valid 20 s) issued right before the tab posts it, as after a sign-in
        r = http.post(
            "/_ikc/session", content=ticket(), headers={"Origin": origin, "Content-Type": "text/plain"}
        )
        if r.status_code != 204:
            raise RuntimeError(f"session cookie refused: {r.status_code}")
        self.route = http.cookies["ikc_route"]
        cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        xsrf = http.cookies.get("_streamlit_xsrf", "")
        self._exits = contextlib.ExitStack()
        self.ws = self._exits.enter_context(
            connect(
                self.proxy.replace("http://", "ws://") + "/_stcore/stream",
                subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],  # type: ignore[list-item]
                additional_headers={"Cookie": cookies, "Origin": origin},
                max_size=None,
                open_timeout=30,
                ping_interval=None,  # a browser does not ping; the server pings the tab
            )
        )

    def close(self) -> None:
        for closer in (
            getattr(self, "_exits", None) and self._exits.close,
            getattr(self.http, "close", None),
        ):
            if closer:
                with contextlib.suppress(Exception):  # closing after a failure
                    closer()

    def _send(self, msg) -> None:
        self.ws.send(msg.SerializeToString())  # type: ignore[attr-defined]

    def _messages(self, deadline: float):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            data = self.ws.recv(timeout=left)  # type: ignore[attr-defined]
            yield ForwardMsg.FromString(data)

    def rerun(self, page: str, widgets=None) -> tuple[float, list, str]:
        """One page run; (seconds, elements, error or "")."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState

        state = ClientState(page_name=page)
        if widgets is not None:
            state.widget_states.CopyFrom(widgets)
        msg = BackMsg(rerun_script=state)
        elements: list = []
        error = ""
        t = time.perf_counter()
        self._send(msg)
        for fwd in self._messages(time.monotonic() + RUN_TIMEOUT):
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id or self.session_id
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                which = el.WhichOneof("type")
                elements.append(el)
                if which == "exception":
                    error = error or f"exception: {el.exception.message[:120]}"
                elif which == "alert" and el.alert.format == 1:  # ERROR
                    error = error or f"error box: {el.alert.body[:120]}"
            elif kind == "page_not_found":
                error = error or f"page not found: {page}"
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsgStatus.EARLY_FOR_RERUN:
                    elements = []
                    continue  # the script asked for a rerun: that run is the page's answer
                if fwd.script_finished == ForwardMsgStatus.COMPILE_ERROR:
                    error = error or "compile error"
                return time.perf_counter() - t, elements, error
        raise AssertionError("unreachable")

    def upload(self, data: bytes, name: str) -> tuple[float, str]:
        """Streamlit's upload, as its frontend does it; (seconds from choosing the file to the
        page's answer, error or ""). The page must be the upload page (its uploader shown)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.Common_pb2 import FileURLsRequest, UploadedFileInfo
        from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

        t = time.perf_counter()
        _, elements, error = self.rerun("upload")
        if error:
            return time.perf_counter() - t, error
        uploader = next((e.file_uploader for e in elements if e.WhichOneof("type") == "file_uploader"), None)
        if uploader is None:
            return time.perf_counter() - t, "no file uploader on the upload page"
        request_id = uuid.uuid4().hex
        self._send(
            BackMsg(
                file_urls_request=FileURLsRequest(
                    request_id=request_id, file_names=[name], session_id=self.session_id
                )
            )
        )
        urls = None
        for fwd in self._messages(time.monotonic() + RUN_TIMEOUT):
            if (
                fwd.WhichOneof("type") == "file_urls_response"
                and fwd.file_urls_response.response_id == request_id
            ):
                urls = fwd.file_urls_response.file_urls[0]
                break
        assert urls is not None
        xsrf = self.http.cookies.get("_streamlit_xsrf", "")  # type: ignore[attr-defined]
        path = urlsplit(urls.upload_url).path
        r = self.http.put(  # type: ignore[attr-defined]
            path,
            files={"file": (name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
            headers={"X-Xsrftoken": xsrf, "Origin": self.proxy},
        )
        if r.status_code >= 300:
            return time.perf_counter() - t, f"upload PUT {r.status_code}"
        info = UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls)
        state = WidgetState(id=uploader.id)
        state.file_uploader_state_value.uploaded_file_info.append(info)
        _, elements, error = self.rerun("upload", WidgetStates(widgets=[state]))
        accepted = any(
            e.WhichOneof("type") == "alert"
            and e.alert.format == 4
            and name in e.alert.body.replace("\\", "")  # SUCCESS; markdown-escaped
            for e in elements
        )
        if not error and not accepted:
            error = "the upload was not accepted"
        return time.perf_counter() - t, error


class ForwardMsgStatus:
    """ForwardMsg.ScriptFinishedStatus values (streamlit/proto/ForwardMsg.proto)."""

    SUCCESS = 0
    COMPILE_ERROR = 1
    EARLY_FOR_RERUN = 2


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def simulate(
    proxy: str,
    db: str,
    users: int,
    seconds: float,
    think: tuple[float, float],
    upload_every: int,
    uploader_share: float,
    seed: int = 19,
) -> dict:
    """Run the users against the proxy; the figures (page runs per upstream are added by the
    caller from nginx's log)."""
    from metrics import entry
    from metrics import users as users_mod
    from metrics.demo import DEMO_PASSWORD
    from metrics.store import Store

    store = Store(db)
    try:
        workbooks = {}
        for name in UPLOADERS:
            user = users_mod.get_user(store, name)
            assert user is not None and user.city_code and user.opd_code, name
            workbooks[name] = entry.template(store, user, user.city_code, user.opd_code, YEAR).data
        n_up = round(users * uploader_share)
        plan = [UPLOADERS[i % len(UPLOADERS)] for i in range(n_up)] + [
            READERS[i % len(READERS)] for i in range(users - n_up)
        ]
        sessions = []
        t_login = time.perf_counter()
        for name in plan:  # the password check (argon2) once per user, before the timed part
            sessions.append(users_mod.login(store, name, DEMO_PASSWORD, client="127.0.0.1"))
        login_s = time.perf_counter() - t_login
    except BaseException:
        store.close()
        raise

    tabs = [Tab(proxy) for _ in plan]
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    start_barrier = threading.Barrier(len(tabs) + 1)
    stop_at = [0.0]
    go = threading.Event()

    def user_thread(i: int) -> None:
        tab, name = tabs[i], plan[i]
        r = random.Random(seed + i)
        try:
            tab.open(lambda: users_mod.issue_ticket(store, sessions[i]) or "")
            tab.rerun(OPD_PAGES[0] if name in workbooks else READ_PAGES[0])  # the first view
        except Exception as exc:  # counted, reported
            with lock:
                failures[f"open: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            tab.ws = None
        start_barrier.wait()
        go.wait()
        if tab.ws is None:
            return
        pages = OPD_PAGES if name in workbooks else READ_PAGES
        n = 0
        try:
            while time.monotonic() < stop_at[0]:
                time.sleep(r.uniform(*think))
                if time.monotonic() >= stop_at[0]:
                    break
                n += 1
                if name in workbooks and n % upload_every == 0:
                    took, error = tab.upload(workbooks[name], f"isian-{i}-{n}.xlsx")
                    tab.runs.append(Run("upload", took, not error, error, upload=True))
                    continue
                page = pages[r.randrange(len(pages))]
                took, _elements, error = tab.rerun(page)
                tab.runs.append(Run(page, took, not error, error))
        except Exception as exc:  # a dropped connection, a timeout: an error
            with lock:
                failures[f"run: {type(exc).__name__}: {str(exc)[:80]}"] += 1
        finally:
            tab.close()

    threads = [threading.Thread(target=user_thread, args=(i,), daemon=True) for i in range(len(tabs))]
    t_open = time.perf_counter()
    cpu0 = time.process_time()
    for th in threads:
        th.start()
        time.sleep(0.1)  # 200 users arrive over about 20 s
    start_barrier.wait()
    open_s = time.perf_counter() - t_open
    stop_at[0] = time.monotonic() + seconds
    go.set()
    t0 = time.perf_counter()
    for th in threads:
        th.join(timeout=seconds + RUN_TIMEOUT + 30)
    elapsed = time.perf_counter() - t0
    store.close()

    cpu = time.process_time() - cpu0
    runs = [r for tab in tabs for r in tab.runs]
    pages = [r for r in runs if not r.upload]
    uploads = [r for r in runs if r.upload]
    errors = Counter(r.error for r in runs if not r.ok)
    per_page = {
        (p or "home"): {"n": len(v), "median_s": statistics.median(v), "p95_s": _percentile(v, 0.95)}
        for p in sorted({r.page for r in pages})
        if (v := [r.seconds for r in pages if r.page == p])
    }
    return {
        "load_average_after": os.getloadavg(),
        # the simulated browsers' own CPU (decoding every message): taken from the same 2 cores
        "client_cpu_s": cpu,
        "users": users,
        "uploaders": n_up,
        "seconds": seconds,
        "elapsed_s": elapsed,
        "think_s": list(think),
        "login_s": login_s,
        "open_s": open_s,
        "page_runs": len(pages),
        "page_p50_s": _percentile([r.seconds for r in pages], 0.5),
        "page_p95_s": _percentile([r.seconds for r in pages], 0.95),
        "page_max_s": max((r.seconds for r in pages), default=float("nan")),
        "uploads": len(uploads),
        "uploads_ok": sum(r.ok for r in uploads),
        "upload_p50_s": _percentile([r.seconds for r in uploads], 0.5),
        "upload_p95_s": _percentile([r.seconds for r in uploads], 0.95),
        "errors": sum(errors.values()) + sum(failures.values()),
        "error_kinds": dict(errors + failures),
        "per_page": per_page,
        "routes": Counter(tab.route for tab in tabs),
        "runs_by_route": Counter(tab.route for tab in tabs for _ in tab.runs),
    }


def per_process(result: dict, access_log: Path, elapsed: float) -> dict:
    """Page runs (uploads included) per dashboard process: each tab's routing cookie is mapped to
    the process nginx sent it to (its access log)."""
    upstream_of: dict[str, str] = {}
    for line in access_log.read_text().splitlines():
        if " upstream=" in line and " route=" in line:
            up = line.split(" upstream=", 1)[1].split()[0]
            route = line.split(" route=", 1)[1].split()[0]
            upstream_of.setdefault(route, up)
    counts: Counter[str] = Counter()
    tabs: Counter[str] = Counter()
    for route, n in result["runs_by_route"].items():
        counts[upstream_of.get(route, "?")] += n
    for route, n in result["routes"].items():
        tabs[upstream_of.get(route, "?")] += n
    return {
        up: {"tabs": tabs[up], "runs": counts[up], "runs_per_s": counts[up] / elapsed} for up in sorted(tabs)
    }


def main(argv: list[str] | None = None) -> int:
    from deploy.national import national_stack

    p = argparse.ArgumentParser(
        prog="python -m benchmarks.national_load", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--seconds", type=float, default=60, help="the timed part, after every user is in")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN", "MAX"))
    p.add_argument("--upload-every", type=int, default=3, help="an uploader's every Nth action uploads")
    p.add_argument("--uploader-share", type=float, default=0.2)
    p.add_argument(
        "--db", help="an existing postgresql:// database with the demo data (else a throwaway one)"
    )
    p.add_argument("--json", help="write the figures here too")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (the processes' and nginx's logs)")
    args = p.parse_args(argv)
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="smartcity-load-"))
    import shutil

    load_before = os.getloadavg()  # other work on the machine skews every figure: reported
    try:
        with national_stack(workdir, args.processes, db=args.db) as stack:
            if args.db is None:
                os.environ["SMARTCITY_STATE_DIR"] = str(stack["state_dir"])
            result = simulate(
                stack["url"],
                stack["db"],
                args.users,
                args.seconds,
                tuple(args.think),
                args.upload_every,
                args.uploader_share,
            )
            result["processes"] = per_process(result, workdir / "nginx" / "access.log", result["elapsed_s"])
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result["load_average_before"] = load_before
    result["routes"] = len(result["routes"])
    result.pop("runs_by_route")
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
