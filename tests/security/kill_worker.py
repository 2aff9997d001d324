"""Child process of the kill test (test_kill.py): ingests large files and checkpoints, forever.

It prints, flushed, one line per event so the parent knows what it was doing when it killed it:
    READY                       the store is open
    ACC <json list of ids>      ingest_bytes returned accepted (so the commit happened)
    CKPT-START / CKPT-END       around an explicit CHECKPOINT
Run: python -m tests.security.kill_worker DB_PATH SEED
"""

from __future__ import annotations

import json
import sys


def big_file(opds: list[str], year: int, salt: int) -> bytes:
    lines = ["city_code,opd_code,year,indicator_code,level,evidence,note"]
    for n, opd in enumerate(opds):
        for code in ("G1", "G2"):
            lines.append(f"0101,{opd},{year},{code},{(n + salt) % 5},Bukti {salt}-{n},catatan {code}")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    from metrics.auth import SYSTEM
    from metrics.ingest import ingest_bytes, load_context
    from metrics.store import Store

    db, seed = sys.argv[1], int(sys.argv[2])
    store = Store(db)
    ctx = load_context(store)
    opds = sorted(
        o.opd_code for o in ctx.opds.values() if o.city_code == "0101" and o.opd_type == "DISKOMINFO"
    )
    print("READY", flush=True)
    k = 0
    while True:
        k += 1
        year = 2023 + (seed * 7 + k) % 150
        r = ingest_bytes(
            store, SYSTEM, big_file(opds, year, seed * 1000 + k), f"besar_{seed}_{k}.csv", ctx=ctx
        )
        if not r.accepted:
            print("REJ", json.dumps(r.to_dict("en"))[:500], flush=True)
            sys.exit(3)
        print("ACC", json.dumps(r.submission_ids), flush=True)
        if k % 2 == 0:
            print("CKPT-START", flush=True)
            store.checkpoint()
            print("CKPT-END", flush=True)


if __name__ == "__main__":
    main()
