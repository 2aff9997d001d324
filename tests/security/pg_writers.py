"""A writer process of the PostgreSQL concurrency proof (test_pg_concurrency.py).

Run: python -m tests.security.pg_writers URL PROCESS THREADS UPLOADS
It opens its own `Store(URL)`, warms up, prints `READY`, waits for a line on stdin (so that
every process starts writing at once), then runs THREADS threads that each make UPLOADS uploads
through the core's real entry points, and prints one JSON line per upload:
    {"name": file name, "status": accepted|rejected|choose, "ids": [...], "problems": [keys],
     "error": null or the exception, "seconds": server time}
The uploads are a pure function of (process, thread, k): see `plan`. Most go to the same two
OPDs of one city in one year (the contended city lock and score rows), some to the other city,
some are one file for both cities (two city locks in one transaction), every process's first
upload is the same file (one stored original, by its hash), and one in ten is invalid (refused,
nothing stored).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass

HEAD = "city_code,opd_code,year,indicator_code,level,evidence,note\n"
# every OPD of the mini registry with the indicators its type answers (tests/fixtures/mini.yaml):
# a file always answers all of them, so no upload drops answers from the version in force
UNITS = {
    ("0101", "01"): ("G1", "G2"),
    ("0101", "02"): ("G2",),
    ("0101", "03"): ("E1", "E2"),
    ("0202", "01"): ("G1", "G2"),
    ("0202", "03"): ("E1", "E2"),
}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    user: tuple[str, str] | None  # (city, OPD) of the OPD operator uploading on the page; None: admin batch
    valid: bool


def _rows(city: str, opd: str, year: int, salt: int, bad: bool = False) -> str:
    out = ""
    for n, code in enumerate(UNITS[city, opd]):
        level = 9 if bad and n == 0 else (salt + 3 * n) % 5
        out += f"{city},{opd},{year},{code},{level},Bukti {salt}-{n},\n"
    return out


def plan(proc: int, thread: int, k: int) -> Upload:
    """The k-th upload of a thread of a process."""
    salt = proc * 1000 + thread * 100 + k
    name = f"p{proc}-t{thread}-k{k}.csv"
    if thread == 0 and k == 0:  # the same bytes from every process at once (one kept file, by hash)
        return Upload(name, (HEAD + _rows("0202", "01", 2023, 7)).encode(), ("0202", "01"), True)
    slot = (k + thread) % 10
    if slot <= 5:  # the hot spot: two OPDs of city 0101, year 2023
        city, opd = ("0101", "01") if (k + proc) % 2 else ("0101", "03")
        return Upload(name, (HEAD + _rows(city, opd, 2023, salt)).encode(), (city, opd), True)
    if slot == 6:  # the other city
        opd = "01" if k % 2 else "03"
        return Upload(name, (HEAD + _rows("0202", opd, 2023 + k % 2, salt)).encode(), ("0202", opd), True)
    if slot == 7:  # one file for both cities, by the admin: two city locks in one transaction
        body = _rows("0202", "03", 2024, salt) + _rows("0101", "01", 2024, salt)
        return Upload(name, (HEAD + body).encode(), None, True)
    if slot == 8:  # another OPD of the hot city, in a year of its own per process
        return Upload(name, (HEAD + _rows("0101", "02", 2025 + proc, salt)).encode(), ("0101", "02"), True)
    return Upload(name, (HEAD + _rows("0101", "01", 2023, salt, bad=True)).encode(), ("0101", "01"), False)


def main(argv: list[str] | None = None) -> None:
    from metrics import entry
    from metrics.auth import SYSTEM, User
    from metrics.ingest import ingest_bytes, load_context
    from metrics.store import Store

    url, proc, threads, uploads = (argv or sys.argv[1:])[:4]
    store = Store(url)
    load_context(store)  # warm: imports, the framework parsed
    print("READY", flush=True)
    sys.stdin.readline()
    out_lock = threading.Lock()

    def work(thread: int) -> None:
        for k in range(int(uploads)):
            up = plan(int(proc), thread, k)
            line: dict[str, object] = {"name": up.name, "error": None}
            t = time.perf_counter()
            try:
                if up.user is None:
                    r = ingest_bytes(store, SYSTEM, up.data, up.name)
                    line |= {"status": r.status, "ids": r.submission_ids}
                    line["problems"] = [p.key for p in r.problems]
                else:
                    city, opd = up.user
                    o = entry.upload(store, User(f"op{city}{opd}", "opd", city, opd), up.data, up.name)
                    line |= {"status": o.status, "ids": o.submission_ids}
                    line["problems"] = [p.key for p in o.problems]
            except BaseException as exc:  # reported to the parent, which fails on any
                line["error"] = "".join(traceback.format_exception(exc))[-2000:]
            line["seconds"] = time.perf_counter() - t
            with out_lock:
                print(json.dumps(line), flush=True)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(int(threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    store.close()


if __name__ == "__main__":
    main()
