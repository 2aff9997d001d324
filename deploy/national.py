"""National mode on one machine, and the nginx configuration for many: the code behind
`deploy/local.sh`, the national-mode browser test and benchmarks/national_load.py.

    .venv/bin/python -m deploy.national nginx --server-name NAME --backend HOST:PORT ... \
        [--cert FILE --key FILE] [--listen ADDR]        # the nginx site, on standard output
    .venv/bin/python -m deploy.national local [--port 8080] [--processes 2]

`local` starts, on 127.0.0.1 only: a throwaway PostgreSQL cluster (Debian's server, initdb into a
temporary directory, as tests/pg_cluster.py and .ci/run do), `python -m metrics init --demo` into
it, N `python -m ui.serve` processes on free ports, and nginx in front (deploy/nginx/
smartcity.conf.template rendered without TLS); Ctrl-C stops and removes all of it.
docs/national-mode.md says how the same pieces are spread over several machines.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from metrics.keys import DEFAULT_STATE_DIR, STATE_DIR_ENV

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "smartcity.conf.template"
NGINX = os.environ.get("NGINX", "nginx")
ROUTE_COOKIE = "ikc_route"


# ----------------------------------------------------------------------------- the nginx site


def render_nginx(
    backends: Sequence[str],
    listen: str = "443",
    server_name: str = "_",
    cert: str | None = None,
    key: str | None = None,
) -> str:
    """The site configuration from the template: TLS with an HTTP->HTTPS redirect when a
    certificate is given, else plain HTTP on `listen` (only for a proxy on 127.0.0.1)."""
    if not backends:
        raise ValueError("at least one backend (HOST:PORT of a `python -m ui.serve` process)")
    if (cert is None) != (key is None):
        raise ValueError("a certificate needs its key, and the other way round")
    tls = cert is not None
    servers = "\n".join(f"    server {b} max_fails=1 fail_timeout=10s;" for b in backends)
    if tls:
        port = listen.rsplit(":", 1)[-1]
        redirect_to = "https://$host$request_uri" if port == "443" else f"https://$host:{port}$request_uri"
        redirect = (
            "\n# plain HTTP only sends the browser to HTTPS\n"
            "server {\n"
            "    listen 80;\n"
            "    listen [::]:80;\n"
            f"    server_name {server_name};\n"
            f"    return 301 {redirect_to};\n"
            "}\n"
        )
        listen_lines = f"    listen {listen} ssl http2;"
        if ":" not in listen:
            listen_lines += f"\n    listen [::]:{listen} ssl http2;"
        tls_lines = (
            f"    ssl_certificate {cert};\n"
            f"    ssl_certificate_key {key};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            "    ssl_prefer_server_ciphers off;\n"
            "    ssl_session_cache shared:ikc_tls:10m;\n"
            "    ssl_session_timeout 1d;\n"
            '    add_header Strict-Transport-Security "max-age=31536000" always;'
        )
        secure = "; Secure"
    else:
        redirect = ""
        listen_lines = f"    listen {listen};"
        tls_lines = "    # no TLS: for a proxy that listens on 127.0.0.1 only (deploy/local.sh, the tests)"
        secure = ""
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in (
        ("BACKENDS", servers),
        ("REDIRECT", redirect),
        ("LISTEN", listen_lines),
        ("TLS", tls_lines),
    ):
        text = text.replace("{{" + name + "}}\n", value + "\n")
    text = text.replace("{{SERVER_NAME}}", server_name).replace("{{COOKIE_SECURE}}", secure)
    if "{{" in text:
        raise ValueError("a placeholder of the template was left unfilled")
    return text


def standalone_conf(site: str, prefix: Path) -> str:
    """A whole nginx.conf around `site` that keeps every file nginx writes under `prefix`: what
    a local run needs (no /etc/nginx, no /var/log/nginx)."""
    # nginx started by root runs its workers as `nobody`, who could not write the upload buffer
    # files under a private temporary directory; a local, 127.0.0.1-only run keeps root
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {d}_temp_path {prefix / (d + '_temp')};"
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 2;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        # which process served each request (the route cookie's hash picks it)
        '    log_format ikc \'$remote_addr [$time_local] "$request" $status $body_bytes_sent '
        "$request_time upstream=$upstream_addr route=$ikc_route';\n"
        f"    access_log {prefix / 'access.log'} ikc;\n"
        f"{temp}\n" + "".join(f"    {line}\n" if line else "\n" for line in site.splitlines()) + "}\n"
    )


def nginx_binary() -> str | None:
    found = shutil.which(NGINX)
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def _wait_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {host}:{port} answered")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered on {host}:{port} in {timeout:.0f} s")
        time.sleep(0.2)


@contextlib.contextmanager
def running_nginx(site: str, workdir: Path, port: int, timeout: float = 20) -> Iterator[subprocess.Popen]:
    """nginx in the foreground with `site` (listening on 127.0.0.1:`port`), its files in
    `workdir`; checked with `nginx -t` first; stopped on exit."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(standalone_conf(site, workdir), encoding="utf-8")
    base = [binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused {conf}:\n{check.stderr}")
    proc = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_port("127.0.0.1", port, timeout, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests under way
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------- the dashboard processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """One dashboard process, as deploy/systemd/smartcity@.service starts it."""
    return [
        sys.executable,
        "-m",
        "ui.serve",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # no watching of the source files: a served process does not reload code that changes
        # under it (an upgrade is a restart)
        "--server.fileWatcherType",
        "none",
    ]


@contextlib.contextmanager
def running_servers(
    db: str, ports: Sequence[int], logdir: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> Iterator[list[subprocess.Popen]]:
    """`python -m ui.serve` on each port of 127.0.0.1 over database `db`, all sharing one cookie
    secret; yields once every one answers its health check; stopped on exit."""
    logdir.mkdir(parents=True, exist_ok=True)
    base_env = {
        **os.environ,
        "SMARTCITY_DB": db,
        "PYTHONPATH": str(ROOT),
        "STREAMLIT_SERVER_COOKIE_SECRET": os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET")
        or secrets.token_hex(32),
        **(env or {}),
    }
    procs: list[subprocess.Popen] = []
    try:
        for port in ports:
            with open(logdir / f"ui-{port}.log", "w") as log:
                procs.append(
                    subprocess.Popen(
                        serve_command(port), cwd=ROOT, env=base_env, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        deadline = time.monotonic() + timeout
        for port, proc in zip(ports, procs, strict=True):
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"ui.serve on port {port} exited with code {proc.returncode}; "
                            f"see {logdir / f'ui-{port}.log'}"
                        ) from None
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"ui.serve on port {port} did not become healthy") from None
                    time.sleep(0.3)
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ----------------------------------------------------------------------------- a throwaway cluster


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian keeps it off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` account when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_server(
    workdir: Path, *, max_connections: int = 200, fsync: bool = True
) -> tuple[str, Callable[[str], None]]:
    """Start a PostgreSQL server with its data in `workdir`, on a free port of 127.0.0.1, trust
    authentication (local only); (its admin URL, stop(mode)). Also what the tests' throwaway
    cluster is (tests/pg_cluster.py), with fsync off for speed."""
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (apt-get install postgresql)")
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    data, port = workdir / "data", free_port()
    initdb = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
    ]
    subprocess.run(_as_server_user(initdb), check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c max_connections={max_connections}"
    opts += " -c fsync=" + ("on" if fsync else "off")
    pg_ctl = str(bindir / "pg_ctl")
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", opts, "-l", str(workdir / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )

    def stop(mode: str = "fast") -> None:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", mode, "stop"]), capture_output=True)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


@contextlib.contextmanager
def throwaway_cluster(workdir: Path, max_connections: int = 200) -> Iterator[str]:
    """A PostgreSQL cluster in `workdir` (start_server) with an empty database `smartcity`;
    yields its URL; stopped on exit."""
    admin, stop = start_server(workdir, max_connections=max_connections)
    try:
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE smartcity")
        yield admin.rsplit("/", 1)[0] + "/smartcity"
    finally:
        stop("fast")


def init_demo(db: str, env: dict[str, str]) -> None:
    """`python -m metrics init --demo` into the database, as an operator types it."""
    subprocess.run(
        [sys.executable, "-m", "metrics", "--db", db, "init", "--demo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )


# ----------------------------------------------------------------------------- the commands


@contextlib.contextmanager
def national_stack(
    workdir: Path, processes: int = 2, proxy_port: int | None = None, db: str | None = None
) -> Iterator[dict]:
    """Everything `local` starts, as a context manager (the benchmark uses it too): yields
    {"url", "db", "ports", "servers", "state_dir", "workdir"}."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)  # the postgres account reaches its cluster directory inside it
    # a throwaway database keeps its key and audit head here; a given one, where the
    # environment's SMARTCITY_STATE_DIR says (the key it was made with)
    state = workdir / "state" if db is None else Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    state.mkdir(parents=True, exist_ok=True)
    env = {STATE_DIR_ENV: str(state)}
    with contextlib.ExitStack() as stack:
        if db is None:
            db = stack.enter_context(throwaway_cluster(workdir / "pg"))
            print(f"PostgreSQL: {db} (throwaway, in {workdir / 'pg'})", flush=True)
            t = time.monotonic()
            init_demo(db, env)
            print(f"demo data loaded ({time.monotonic() - t:.0f} s)", flush=True)
        ports = [free_port() for _ in range(processes)]
        servers = stack.enter_context(running_servers(db, ports, workdir / "logs", env))
        print("dashboard processes: " + ", ".join(f"127.0.0.1:{p}" for p in ports), flush=True)
        proxy_port = proxy_port or free_port()
        site = render_nginx([f"127.0.0.1:{p}" for p in ports], listen=f"127.0.0.1:{proxy_port}")
        stack.enter_context(running_nginx(site, workdir / "nginx", proxy_port))
        yield {
            "url": f"http://127.0.0.1:{proxy_port}",
            "db": db,
            "ports": ports,
            "servers": servers,
            "state_dir": state,
            "workdir": workdir,
        }


def cmd_local(args: argparse.Namespace) -> int:
    if nginx_binary() is None or pg_bin() is None:
        print(
            "national mode locally needs Debian's nginx and postgresql: apt-get install nginx postgresql",
            file=sys.stderr,
        )
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="smartcity-national-"))
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # Ctrl-C (also when started where SIGINT was ignored)
    try:
        with national_stack(workdir, args.processes, args.port) as stack:
            print(
                f"\nnational mode is up: {stack['url']}  (demo accounts: README, 'Roles and demo accounts')\n"
                f"logs: {workdir / 'logs'}, {workdir / 'nginx'}; Ctrl-C stops everything\n",
                flush=True,
            )
            while not stop and all(p.poll() is None for p in stack["servers"]):
                time.sleep(0.5)
            time.sleep(0.2)  # a Ctrl-C reaches the processes too: let its flag arrive first
            if not stop:
                print("a dashboard process exited; stopping", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass  # Ctrl-C is how an operator stops it: national_stack has stopped everything
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        print("stopped; temporary files removed", flush=True)
    return 0


def cmd_nginx(args: argparse.Namespace) -> int:
    print(render_nginx(args.backend, args.listen, args.server_name, args.cert, args.key), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.national", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("nginx", help="print the nginx site configuration")
    s.add_argument("--backend", action="append", required=True, help="HOST:PORT of a ui.serve process")
    s.add_argument("--server-name", default="_")
    s.add_argument("--listen", default=None, help="default 443 with --cert, else 127.0.0.1:8080")
    s.add_argument("--cert")
    s.add_argument("--key")
    s.set_defaults(func=cmd_nginx)
    s = sub.add_parser("local", help="start national mode on this machine (127.0.0.1 only)")
    s.add_argument("--port", type=int, default=8080, help="the proxy's port (default 8080)")
    s.add_argument("--processes", type=int, default=2)
    s.set_defaults(func=cmd_local)
    args = p.parse_args(argv)
    if args.cmd == "nginx" and args.listen is None:
        args.listen = "443" if args.cert else "127.0.0.1:8080"
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
