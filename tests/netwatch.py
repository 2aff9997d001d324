"""Watch a server process's own network use: every name it looks up, every address it connects to.

A sitecustomize module on the child's PYTHONPATH installs an audit hook (PEP 578) that logs the
`socket.getaddrinfo` and `socket.connect` events to a file; `outside()` then lists what was not
this machine. Used by tests/security/test_no_network.py and the browser tests, whose servers
must call nothing outside (SECURITY.md: no external network at run time).
"""

from __future__ import annotations

import os
from pathlib import Path

_HOOK = """
import os, socket, sys
_log = open(os.environ["SMARTCITY_NETLOG"], "a", buffering=1)

def _hook(event, args):
    if event == "socket.getaddrinfo":
        _log.write(f"lookup {args[0]!r}\\n")
    elif event == "socket.connect":
        sock, address = args
        udp = getattr(sock, "type", None) == socket.SOCK_DGRAM
        _log.write(f"connect {'udp' if udp else 'stream'} {address!r}\\n")

sys.addaudithook(_hook)
_log.write("hook installed\\n")
"""
_LOCAL_NAMES = {"None", "''", "'localhost'", "'127.0.0.1'", "'::1'", "'0.0.0.0'", "'::'"}
_LOCAL_ADDRESSES = ("'127.0.0.1'", "'::1'", "'localhost'")


def watched_env(folder: Path, pythonpath: list[Path]) -> dict[str, str]:
    """Environment entries that make a child Python process log its network use to folder/net.log."""
    (folder / "hook").mkdir(parents=True, exist_ok=True)
    (folder / "hook" / "sitecustomize.py").write_text(_HOOK)
    return {
        "SMARTCITY_NETLOG": str(folder / "net.log"),
        "PYTHONPATH": os.pathsep.join(str(p) for p in [folder / "hook", *pythonpath]),
    }


def outside(folder: Path) -> list[str]:
    """Logged lookups of other names and stream connections to other addresses. Raises if the hook
    never ran. (Streamlit finds its LAN address by connecting a UDP socket, which sends nothing;
    that is not counted.)"""
    log = (folder / "net.log").read_text()
    assert "hook installed" in log, "the network audit hook did not run in the server"
    out = []
    for line in log.splitlines():
        what, _, rest = line.partition(" ")
        if (what == "lookup" and rest not in _LOCAL_NAMES) or (
            what == "connect"
            and not rest.startswith("udp ")
            and not rest.startswith("stream '/")
            and not any(local in rest for local in _LOCAL_ADDRESSES)
        ):
            out.append(line)
    return out
