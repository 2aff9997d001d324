"""Native parsers run in worker processes where a crash costs only that one parse.

The spreadsheet reader (calamine) is Rust code: on a hostile file it can abort the whole
process (an allocation failure is an abort, not an exception) or raise a `PanicException`,
which derives from `BaseException` and slips past `except Exception`. In the dashboard that
process is the server every user is connected to. So every native parse goes through `run()`:

* it runs in a worker process of its own (`python -m metrics.isolation`, a fresh interpreter
  that imports only what the call needs), one call at a time per worker, at most `POOL_SIZE`
  workers, each kept for the next call;
* each worker has an address-space limit (`$SMARTCITY_PARSER_MEMORY_MB` above its own size at
  start, 512 MB by default), so a runaway allocation fails inside the worker;
* whatever happens there (an exception of any kind, a panic, an abort, a kill, a time-out)
  comes back to the caller as `ParseFailed`, which the reader turns into a located refusal, and
  a worker that died or hung is replaced; since a worker serves one call at a time, no other
  parse is affected;
* workers end with their parent: each watches the process that started it, and a batch worker
  also asks the kernel for SIGKILL at its parent's death.

Why not `multiprocessing`: its spawn and forkserver children re-import the parent's `__main__`,
and inside a Streamlit script run `__main__` is the dashboard script itself, so every worker
would run the whole dashboard. A plain subprocess with pickled calls over its pipes has no such
magic.

Batch ingest already parses in worker processes (a `ProcessPoolExecutor` started by the CLI,
whose `__main__` is harmless); those call `enter_worker()` at start, and `run()` then calls the
parser directly (the worker *is* the isolation).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, TypeVarTuple, cast

DEFAULT_HEADROOM_MB = 512
TIMEOUT_S = 60.0
POOL_SIZE = 2
_LEN = struct.Struct("<Q")
_ROOT = str(Path(__file__).resolve().parent.parent)

_in_worker = False
_idle: list[_Worker] = []
_live: set[_Worker] = set()
_lock = threading.Lock()
_slots = threading.BoundedSemaphore(POOL_SIZE)

_T = TypeVar("_T")
_Args = TypeVarTuple("_Args")


class ParseFailed(Exception):
    """The native parse did not complete: `detail` says how (never a traceback)."""

    def __init__(self, detail: str, crashed: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.crashed = crashed  # the worker died (abort, kill, memory) rather than raising


class _Gone(Exception):
    """The worker was dead before it received the call."""


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    value: object = None
    error: str = ""


def _headroom_bytes() -> int:
    try:
        mb = int(os.environ.get("SMARTCITY_PARSER_MEMORY_MB", DEFAULT_HEADROOM_MB))
    except ValueError:
        mb = DEFAULT_HEADROOM_MB
    return max(64, mb) * 1024 * 1024


def _vm_size() -> int:
    """This process's current address-space size in bytes (Linux), 0 when unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _die_with_parent(owner: int | None, kernel_signal: bool) -> None:
    """End this process when its parent, or `owner` (the process the work is for), is gone.

    `kernel_signal` asks Linux for SIGKILL at the parent's death. That signal follows the parent
    *thread* that forked this process, so it suits only a parent whose forking thread lives as
    long as it does (the forkserver); a worker started from a Streamlit script thread would be
    killed when that page run ends. The watcher below covers every case, within half a second.
    """
    import signal

    if kernel_signal:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: the watcher still applies
            pass
    parent = os.getppid()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's: only possible once our owner's pid is reused
            return True
        return False

    def watch() -> None:
        while True:
            time.sleep(0.5)
            # a dead parent makes the kernel give this process a new one
            if os.getppid() != parent or (owner is not None and gone(owner)):
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def enter_worker(owner: int | None = None, kernel_signal: bool = True) -> None:
    """Make this process an isolated parse worker: memory-capped, dying with its parent."""
    global _in_worker
    import resource

    _die_with_parent(owner, kernel_signal)
    # a panic's backtrace is for the reader's developers, not the server log
    os.environ["RUST_BACKTRACE"] = "0"
    base = _vm_size()
    if base:
        limit = base + _headroom_bytes()
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    _in_worker = True


def _call(fn: Callable[..., object], args: tuple[object, ...]) -> _Outcome:
    # BaseException on purpose: a Rust panic arrives as one; nothing may escape as a crash
    try:
        return _Outcome(True, fn(*args))
    except BaseException as exc:
        return _Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300])


class _Worker:
    """One `python -m metrics.isolation` process and its two pipes."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "RUST_BACKTRACE": "0",
            "PYTHONPATH": os.pathsep.join(filter(None, (_ROOT, os.environ.get("PYTHONPATH")))),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "metrics.isolation", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=_ROOT,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both asked for as pipes
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout

    def call(self, fn: Callable[..., object], args: tuple[object, ...], timeout: float) -> _Outcome:
        payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.stdin.write(_LEN.pack(len(payload)) + payload)
            self.stdin.flush()
        except OSError:  # it died before the call reached it: nothing was parsed
            raise _Gone from None
        deadline = time.monotonic() + timeout
        size = _LEN.unpack(self._read(_LEN.size, deadline, timeout))[0]
        out: _Outcome = pickle.loads(self._read(size, deadline, timeout))
        return out

    def _read(self, n: int, deadline: float, timeout: float) -> bytes:
        fd, chunks, got = self.stdout.fileno(), [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ParseFailed(f"no result within {timeout:.0f} s", crashed=True)
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:  # the worker died: an abort, the memory limit, a kill
                code = self.proc.wait()
                raise ParseFailed(f"the reader process stopped (exit {code})", crashed=True)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.proc.kill()
            else:
                self.stdin.close()  # the worker's loop ends at end of input
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()


def _take() -> _Worker:
    """An idle worker that is still alive, or a new one."""
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.proc.poll() is None:
                return worker
            _live.discard(worker)  # died while idle (killed from outside): never handed a call
    worker = _Worker()
    with _lock:
        _live.add(worker)
    return worker


def run(fn: Callable[[*_Args], _T], *args: *_Args, timeout: float = TIMEOUT_S) -> _T:
    """`fn(*args)` in an isolated worker; its value, or ParseFailed. `fn` must be importable."""
    if _in_worker:
        out = _call(fn, args)
    else:
        with _slots:  # at most POOL_SIZE parses at once, each on a worker of its own
            for attempt in (1, 2):
                worker = _take()
                try:
                    out = worker.call(fn, args, timeout)
                    break
                except BaseException as exc:
                    # dead, hung or out of step: never reused
                    with _lock:
                        _live.discard(worker)
                    worker.stop(kill=True)
                    if isinstance(exc, _Gone) and attempt == 1:
                        continue  # it died idle, before this call: the call goes to a new worker
                    if isinstance(exc, _Gone):
                        raise ParseFailed("the reader process could not be started", crashed=True) from None
                    raise
            with _lock:
                _idle.append(worker)
    if not out.ok:
        raise ParseFailed(out.error, crashed=False)
    return cast(_T, out.value)  # what `fn` returned, back through pickle


def shutdown() -> None:
    """Stop every idle worker (tests, and a clean exit); busy ones stop after their call."""
    with _lock:
        workers, _idle[:] = list(_idle), []
        _live.difference_update(workers)
    for w in workers:
        w.stop()


def worker_pids() -> list[int]:
    """The pids of the live worker processes (for tests and the security figures)."""
    with _lock:
        return [w.proc.pid for w in _live if w.proc.poll() is None]


def _serve(parent: int) -> None:
    """The worker's loop: a length-prefixed pickled (fn, args) in, a pickled _Outcome out."""
    enter_worker(parent, kernel_signal=False)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # nothing the called code prints may corrupt the answers on stdout
    sys.stdout = sys.stderr
    while head := stdin.read(_LEN.size):
        fn, args = pickle.loads(stdin.read(_LEN.unpack(head)[0]))
        out = _call(fn, args)
        try:
            data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            data = pickle.dumps(_Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300]))
        stdout.write(_LEN.pack(len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    # through the package's module, so that what is pickled back names metrics.isolation, not
    # __main__ (which, in the dashboard's process, is the dashboard script)
    from metrics.isolation import _serve as serve

    serve(int(sys.argv[1]))
