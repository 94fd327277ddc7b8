"""The changes feed's throughput, and what a webhook adds to a write.

    .venv/bin/python -m bench.changes [--db sqlite|postgresql|both] [--customers 20000] [--limit 1000] [--writes 1000]

Seeds (or reuses) an account of ``--customers`` customers (each with its "create" change) and
serves the app with one worker. Feed: walks the whole feed from 0 with one client, page by page
(``limit`` changes a page), three times; prints the changes a second of each walk. Webhooks:
times ``--writes`` API updates (one client, one after the other) without an endpoint and with
one endpoint (a local receiver, delivered by the server's own worker thread meanwhile), in
alternating rounds; prints the median and p99 of each and their difference. The results go
into their own section at the end of BENCHMARKS.md (``bench.run`` keeps it when it rewrites the rest).
"""

from __future__ import annotations

import argparse
import threading
import time
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bench.common import ROOT, Target, clientele_server, loadavg, median, p99
from bench.prepare import prepare

MARKER = "<!-- bench.changes: written by python -m bench.changes, kept by bench.run -->"


def kept_section(path: Path) -> str:
    """This benchmark's section of ``path``, to append to a report that rewrites the rest."""
    old = path.read_text() if path.exists() else ""
    at = old.find(MARKER)
    return "\n" + old[at:] if at >= 0 else ""


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


def webhook_cost(target: Target, base_url: str, token: str, writes: int) -> dict[str, float]:
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
    return {"median_without": median(without), "p99_without": p99(without), "median_with": median(with_one), "p99_with": p99(with_one)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    from bench.run import code_version

    rows = []
    load_start = loadavg()
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        target = Target(db, args.customers)
        ctx = prepare(target)
        server = clientele_server(target).start()
        try:
            rates = []
            for run in range(3):
                read, seconds = walk(server.base_url, ctx["token"], args.limit)
                rates.append(read / seconds)
                print(f"[{db}] walk {run + 1}: {read:,} changes in {seconds:.2f} s = {read / seconds:,.0f} changes/s "
                      f"({args.limit} a page, one client)", flush=True)
            cost = webhook_cost(target, server.base_url, ctx["token"], args.writes)
        finally:
            server.stop()
        rows.append(
            f"| {db} | {median(rates):,.0f} | {cost['median_without']:.2f} / {cost['p99_without']:.2f} | "
            f"{cost['median_with']:.2f} / {cost['p99_with']:.2f} | {cost['median_with'] - cost['median_without']:+.2f} / "
            f"{cost['p99_with'] - cost['p99_without']:+.2f} |"
        )
    section = "\n".join([
        MARKER,
        "## Changes feed and webhooks",
        "",
        f"`python -m bench.changes --db {args.db}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, app code "
        f"{code_version()}; {args.customers:,} customers in one account (each with its create change), one server worker; "
        f"load average {load_start} at the start, {loadavg()} at the end (other work shares the 2 CPUs: the p99s are noisy).",
        "*Feed*: changes a second one client reads walking the whole feed from 0, "
        f"{args.limit} a page (the median of 3 walks). *Update*: an API partial update (a note), one client, one request after "
        f"the other, {args.writes} in alternating rounds without an endpoint and with one (a local receiver; the server's own "
        "worker thread delivers meanwhile, so the cost includes the delivery's share of the machine).",
        "",
        "| db | feed changes/s | update ms without an endpoint: median / p99 | with one endpoint: median / p99 | a webhook adds: median / p99 ms |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
    ])
    output = Path(args.output)
    old = output.read_text() if output.exists() else ""
    at = old.find(MARKER)
    output.write_text((old[:at] if at >= 0 else old.rstrip("\n") + "\n\n") + section)
    print(f"wrote the section to {output}")


if __name__ == "__main__":
    main()
