"""The changes feed's throughput: how many changes a second one client reads.

    .venv/bin/python -m bench.changes [--db sqlite|postgresql] [--customers 20000] [--limit 1000]

Seeds (or reuses) an account of ``--customers`` customers (each with its "create" change),
serves the app with one worker and walks the whole feed from 0 with one client, page by
page (``limit`` changes a page), three times; prints the changes a second of each walk.
"""

from __future__ import annotations

import argparse
import time

import httpx

from bench.common import Target, clientele_server
from bench.prepare import prepare


def walk(base_url: str, token: str, limit: int) -> tuple[int, float]:
    """Changes read and seconds taken, reading the feed from 0 to its end."""
    read, cursor = 0, 0
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        started = time.perf_counter()
        while True:
            page = client.get("/api/customers/changes/", params={"after": cursor, "limit": limit}).json()
            read += len(page["data"])
            cursor = page["cursor"]
            if len(page["data"]) < limit:
                return read, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    target = Target(args.db, args.customers)
    ctx = prepare(target)
    server = clientele_server(target).start()
    try:
        for run in range(3):
            read, seconds = walk(server.base_url, ctx["token"], args.limit)
            print(f"[{args.db}] walk {run + 1}: {read:,} changes in {seconds:.2f} s = {read / seconds:,.0f} changes/s "
                  f"({args.limit} a page, one client)", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
