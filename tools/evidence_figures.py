"""Measure what SECURITY.md's evidence-file section quotes: time and memory to refuse each
hostile evidence file (tests/security/evidence_samples.py), and to accept the good ones.

Why a script and not a test: wall-clock figures are flaky under a loaded test run, so the tests
assert what is deterministic (the reason, the location, that nothing was stored) and this
script records times and memory on the machine it runs on:

    .venv/bin/python tools/evidence_figures.py          # Markdown table on stdout

Per sample: the refusal time as the median of 5 runs through `metrics.evidence.check_file` on a
warm worker (imports done); the peak resident memory (VmHWM) of a fresh isolation worker that
checked the sample once, beside an idle worker's; and the peak of the server process's own Python
allocations (tracemalloc) during one check. Refusals decided before any parse (size, type) never
start a worker.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics import evidence, isolation  # noqa: E402  (after the path, as a script)
from metrics.errors import Rejected  # noqa: E402
from tests.security import evidence_samples as samples  # noqa: E402

RUNS = 5
MB = 1024 * 1024


def _largest_image() -> bytes:
    """A 6,300 x 6,300 PNG (39.7 MP, just under the 40 MP limit): the most an accepted image decodes to."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (6_300, 6_300), (250, 250, 250)).save(out, "PNG")
    return out.getvalue()


def _long_pdf() -> bytes:
    """2,000 pages of text: every page's text layer is read for NIK/KK numbers."""
    return samples.text_pdf(*(f"Halaman {i}: Peraturan Wali Kota Nomor {i}/2024" for i in range(2_000)))


# accepted worst cases, beside the samples' good files
HEAVY = {
    "largest image (39.7 MP PNG)": ("besar.png", _largest_image),
    "2,000-page PDF": ("tebal.pdf", _long_pdf),
}


def _hwm_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _once(data: bytes, name: str) -> str:
    try:
        checked = evidence.check_file(data, name)
    except Rejected as exc:
        return exc.problems[0].key
    return f"accepted ({checked.mime.rsplit('/', 1)[-1][:12]})"


def _fresh_worker_peak(data: bytes, name: str) -> float | None:
    """VmHWM of a new worker after checking `data` once (None: no worker was needed)."""
    isolation.shutdown()
    _once(data, name)
    pids = isolation.worker_pids()
    return max(_hwm_mb(p) for p in pids) if pids else None


def main() -> None:
    isolation.shutdown()
    isolation.run(len, b"")  # an idle worker: the interpreter and the isolation module alone
    idle = max(_hwm_mb(p) for p in isolation.worker_pids())
    rows = []
    cases = [(label, name, gen, key) for label, (name, gen, key) in samples.HOSTILE.items()]
    cases += [(f"good {label}", name, gen, "accepted") for label, (name, gen, _m) in samples.GOOD.items()]
    cases += [(label, name, gen, "accepted") for label, (name, gen) in HEAVY.items()]
    for label, name, gen, _expect in cases:
        data = gen()
        peak = _fresh_worker_peak(data, name)
        _once(samples.good_png(), "warm.png")  # a warm worker for the timed runs
        times, outcome = [], ""
        for _ in range(RUNS):
            t0 = time.perf_counter()
            outcome = _once(data, name)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        _once(data, name)
        _cur, parent_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((label, len(data), outcome, statistics.median(times), peak, parent_peak / MB))
    isolation.shutdown()
    print(f"Idle isolation worker: peak RSS {idle:.0f} MB. Times: median of {RUNS}, warm worker.\n")
    print("| sample | bytes | outcome | time (ms) | worker peak RSS (MB) | server-side Python peak (MB) |")
    print("|---|---:|---|---:|---:|---:|")
    for label, size, outcome, t, peak, parent in rows:
        shown = "no worker" if peak is None else f"{peak:.0f}"
        print(f"| {label} | {size:,} | `{outcome}` | {t * 1000:.2f} | {shown} | {parent:.1f} |")


if __name__ == "__main__":
    main()
