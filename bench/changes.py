"""The changes feed's throughput, and what a webhook adds to a write.

    .venv/bin/python -m bench.changes [--db sqlite|postgresql] [--customers 20000] [--limit 1000] [--writes 1000]

Seeds (or reuses) an account of ``--customers`` customers (each with its "create" change) and
serves the app with one worker. Feed: walks the whole feed from 0 with one client, page by page
(``limit`` changes a page), three times; prints the changes a second of each walk. Webhooks:
times ``--writes`` API updates (one client, one after the other) without an endpoint and with
one endpoint (a local receiver, delivered by the server's own worker thread meanwhile), in
alternating rounds; prints the median and p99 of each and their difference.
"""

from __future__ import annotations

import argparse
import threading
import time
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from bench.common import Target, clientele_server, median, p99
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


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _updates(client: httpx.Client, customer_ids: list[int], count: int, start: int) -> list[float]:
    """Milliseconds of each of ``count`` partial updates (a note that changes each time)."""
    times = []
    for i in range(count):
        customer_id = customer_ids[i % len(customer_ids)]
        began = time.perf_counter()
        response = client.put(f"/api/customers/{customer_id}/", json={"note": f"bench {start + i}"})
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    return times


def webhook_cost(target: Target, base_url: str, token: str, writes: int) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    ph = target.placeholder
    with closing(target.raw_connect()) as conn:
        account_id = conn.execute(f"SELECT id FROM accounts WHERE name = {ph}", ("Bench",)).fetchone()[0]
        conn.execute(f"DELETE FROM webhook_deliveries WHERE account_id = {ph}", (account_id,))
        conn.execute(f"DELETE FROM webhook_endpoints WHERE account_id = {ph}", (account_id,))
        customer_ids = [row[0] for row in conn.execute(f"SELECT id FROM customers WHERE account_id = {ph} ORDER BY id LIMIT 50", (account_id,))]
    without: list[float] = []
    with_one: list[float] = []
    rounds = 10
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        _updates(client, customer_ids, 100, 0)  # warm up
        for round_ in range(rounds):
            with closing(target.raw_connect()) as conn:
                if round_ % 2:
                    conn.execute(
                        "INSERT INTO webhook_endpoints (account_id, url, events, secret, state, paused_reason, failures, created_at) "
                        f"VALUES ({ph}, {ph}, 'created updated deleted restored', 'whsec_bench', 'active', '', 0, CURRENT_TIMESTAMP)",
                        (account_id, url),
                    )
                else:
                    conn.execute(f"DELETE FROM webhook_deliveries WHERE account_id = {ph}", (account_id,))
                    conn.execute(f"DELETE FROM webhook_endpoints WHERE account_id = {ph}", (account_id,))
            times = _updates(client, customer_ids, writes // rounds, round_ * writes)
            (with_one if round_ % 2 else without).extend(times)
    receiver.shutdown()
    print(f"[{target.db}] update without an endpoint: median {median(without):.2f} ms, p99 {p99(without):.2f} ms ({len(without)} writes)")
    print(f"[{target.db}] update with one endpoint:   median {median(with_one):.2f} ms, p99 {p99(with_one):.2f} ms ({len(with_one)} writes)")
    print(f"[{target.db}] a webhook adds: median {median(with_one) - median(without):+.2f} ms, p99 {p99(with_one) - p99(without):+.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args()
    target = Target(args.db, args.customers)
    ctx = prepare(target)
    server = clientele_server(target).start()
    try:
        for run in range(3):
            read, seconds = walk(server.base_url, ctx["token"], args.limit)
            print(f"[{args.db}] walk {run + 1}: {read:,} changes in {seconds:.2f} s = {read / seconds:,.0f} changes/s "
                  f"({args.limit} a page, one client)", flush=True)
        webhook_cost(target, server.base_url, ctx["token"], args.writes)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
