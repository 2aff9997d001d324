"""Start the dashboard as `streamlit run dashboard.py` does, minus Streamlit's own network call.

Streamlit asks checkip.amazonaws.com for the machine's public address: for its start-up banner
when it listens on every interface, and whenever it checks the origin of a WebSocket opened by a
page on another site, again on every attempt while the lookup fails (as it does on a government
network without internet access, where each attempt can also hold up the server: two HTTP tries
of up to a second each, inside its WebSocket handler). We promise no network call at run time, and Streamlit has no setting for this lookup, so
it is replaced by "unknown" before the server starts. The address is only ever compared with
the origin of such a WebSocket, which is then refused, as it should be.

    .venv/bin/python -m ui.serve [streamlit run options, e.g. --server.port 8502]

dashboard.py does the same for a server started with plain `streamlit run dashboard.py`, from its
first page view on; .streamlit/config.toml names the address for the banner.
"""

from __future__ import annotations

import sys
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"


def _unknown_external_ip() -> None:
    return None


def no_external_ip_lookup() -> None:
    """Make Streamlit's public-address lookup answer "unknown" without asking the network."""
    from streamlit import net_util

    if not callable(getattr(net_util, "get_external_ip", None)):
        raise RuntimeError(
            "streamlit.net_util.get_external_ip is gone: check how this Streamlit version "
            "finds the machine's public address before starting the dashboard"
        )
    net_util.get_external_ip = _unknown_external_ip


def core_log_to_console() -> None:
    """The core's own log lines (e.g. the audit chain's head after every audited write) in the
    server log: Streamlit leaves the root logger at WARNING and logs only its own loggers."""
    import logging

    log = logging.getLogger("metrics")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def router_from_the_first_run() -> None:
    """Run dashboard.py (the router: sign-in gate, pages by role) from the very first request.

    Streamlit treats a `pages/` folder beside the entry script as a legacy multipage app until
    st.navigation has run once in the process, so the first request after a start that opens a
    page URL would run that page file without the router. The flag it decides that with is set
    here, before the server starts, to what st.navigation itself sets it to."""
    from streamlit.runtime.pages_manager import PagesManager

    if not hasattr(PagesManager, "uses_pages_directory"):
        raise RuntimeError(
            "streamlit's PagesManager.uses_pages_directory is gone: check how this Streamlit "
            "version decides on the legacy pages/ mode before starting the dashboard"
        )
    PagesManager.uses_pages_directory = False


def serve_asgi_app() -> None:
    """`streamlit run dashboard.py` serves ui/asgi.py's st.App (dashboard.py plus the session
    cookie routes) with every `streamlit run` option, config file and secret as before: Streamlit
    runs a script as an ASGI app when it finds one in it, and here it is told where the app is."""
    from streamlit.web.server import app_discovery

    real = app_discovery.discover_asgi_app

    def discover(path):
        if Path(path).resolve() == DASHBOARD:
            return app_discovery.AppDiscoveryResult(True, "app", "ui.asgi:app")
        return real(path)

    app_discovery.discover_asgi_app = discover


def main(argv: list[str] | None = None) -> None:
    no_external_ip_lookup()
    core_log_to_console()
    router_from_the_first_run()
    serve_asgi_app()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(DASHBOARD), *(sys.argv[1:] if argv is None else argv)]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
