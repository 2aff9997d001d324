"""The dashboard as an ASGI app (Streamlit's `st.App`), with the two routes that keep a sign-in.

A Streamlit script talks to the browser over a WebSocket and cannot set a cookie, let alone one
that scripts cannot read. So the sign-in itself stays in the script, through the core's
`users.login` (throttle, audit, one answer for every refusal), and the cookie is set here:

* POST /_ikc/session, body: the one-time ticket the script got from `users.issue_ticket` right
  after the sign-in (random, 256 bits, stored hashed, valid 20 seconds, spent on first use). The
  browser posts it with one same-origin `fetch` (see `ui.shell.cookie_script`); the answer sets
  the session cookie: a fresh random token (only its hash is stored), HttpOnly, SameSite=Strict,
  Path=/, Secure when the request came over HTTPS, no Max-Age (it ends with the browser; the
  server ends it sooner: idle and absolute timeouts). The token is never in a URL.
* POST /_ikc/logout ends the session the cookie opens and clears the cookie.

Both refuse a request whose Origin is not this server's own (a page elsewhere cannot post here).
A reload, a new tab or a shared link sends the cookie with the page's WebSocket handshake, and the
script reads it from `st.context.cookies` (`ui.shell.refresh_session` -> `users.resume_session`).

`python -m ui.serve` serves this app; `streamlit run dashboard.py` still works, without the
cookie (every reload then asks to sign in again, as before).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from streamlit.starlette import App

from metrics import users

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"
COOKIE = "ikc_session"
SESSION_ROUTE = "/_ikc/session"
LOGOUT_ROUTE = "/_ikc/logout"
MAX_BODY = 256  # a ticket is 43 characters


def _same_origin(request: Request) -> bool:
    """The request comes from a page of this server: its Origin names this host (browsers send
    Origin on every POST made by fetch), and Fetch Metadata, when sent, says same-origin."""
    origin = request.headers.get("origin")
    if not origin or request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


def _secure(request: Request) -> bool:
    from streamlit import config

    return request.url.scheme == "https" or bool(config.get_option("server.sslCertFile"))


def _store():
    from ui import shell

    return shell.open_store()


async def _body(request: Request) -> str | None:
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return None
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None


async def session_route(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    ticket = await _body(request)
    token = await run_in_threadpool(users.redeem_ticket, _store(), ticket) if ticket else None
    if token is None:
        return Response(status_code=403, headers={"Cache-Control": "no-store"})
    resp = Response(status_code=204, headers={"Cache-Control": "no-store"})
    resp.set_cookie(COOKIE, token, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return resp


async def logout_route(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(users.logout_token, _store(), token)
    resp = Response(status_code=204, headers={"Cache-Control": "no-store"})
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return resp


def routes() -> list[Route]:
    return [
        Route(SESSION_ROUTE, session_route, methods=["POST"]),
        Route(LOGOUT_ROUTE, logout_route, methods=["POST"]),
    ]


app = App(str(DASHBOARD), routes=routes())
