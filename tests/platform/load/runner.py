"""One load or crash run and its report, and the command line of both proofs
(tests/platform/load/loadtest.py, tests/platform/load/crash.py)."""

from __future__ import annotations

import argparse
import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

from tests.platform.load.databases import (
    DEFAULT_PG_SERVER,
    VAR,
    Target,
    given_target,
    integrity,
    postgres_target,
    provision,
    server_env,
    sqlite_target,
)
from tests.platform.load.log import Log, status_ok
from tests.platform.load.supervisor import Server, crash_loop
from tests.platform.load.traffic import Context, run_clients
from tests.platform.load.verifier import Verdict, verify
from tests.server import ROOT


def dump(log: Log, path: Path) -> None:
    """Every write attempt of the run, one JSON object a line, for a look afterwards."""
    with path.open("w") as out:
        for w in log.writes:
            out.write(json.dumps(asdict(w)) + "\n")
    print(f"writes logged to     {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def summary(label: str, log: Log, elapsed: float, verdict: Verdict, extra: dict[str, str], kills: int | None, down: float = 0.0) -> bool:
    acked = [w for w in log.writes if w.status == "acked"]
    by_kind = Counter(f"{w.via} {w.kind}" for w in acked)
    unacked = sum(1 for w in log.writes if w.status == "unacked")
    refused = Counter(w.kind for w in log.writes if w.status == "refused")
    expected_errors: Counter[str] = Counter()
    unexpected: Counter[str] = Counter()
    no_answer: Counter[str] = Counter(status for (_, status), n in log.statuses.items() for _ in range(n) if status[:1].isupper())
    for (operation, status), n in log.statuses.items():
        if status.isdigit():
            code = int(status)
            if code < 400 and status_ok(operation, code):
                continue
            (expected_errors if status_ok(operation, code) else unexpected)[f"{status} {operation}"] += n
        elif status[:1].isupper() and kills is not None:  # no answer while the server was being killed
            continue
        else:
            unexpected[f"{status} ({operation})"] += n
    print(f"\n== {label} ==")
    print(f"requests served      {log.requests}  ({log.requests / max(elapsed, 0.001):.0f} req/s over {elapsed:.0f} s)")
    if kills is not None:
        print(f"server SIGKILLed     {kills} times (down {down:.0f} s in all, restarts included); requests without an answer: {log.dropped}"
              + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(no_answer.items()))})" if no_answer else ""))
    print("expected refusals    " + (", ".join(f"{k}: {v}" for k, v in sorted(expected_errors.items())) or "none")
          + f"; conflict views: {log.conflict_views}")
    print(f"unexpected errors    {sum(unexpected.values())}" + ("" if not unexpected else "  " + ", ".join(f"{k}: {v}" for k, v in sorted(unexpected.items()))))
    for line in log.unexpected[:10]:
        print(f"    {line}")
    print(f"writes acknowledged  {len(acked)}  ({', '.join(f'{k}: {v}' for k, v in sorted(by_kind.items()))})")
    print(f"writes refused       {sum(refused.values())} (404/412/conflict; their values must not appear: {verdict.refused_applied} did)")
    print(f"writes unanswered    {unacked}")
    for name, value in {**verdict.checks, **extra}.items():
        print(f"check                {name}: {value}")
    print(f"writes lost          {len(verdict.lost)}")
    for line in verdict.problems[:20]:
        print(f"    {line}")
    bad_extra = any(isinstance(v, str) and v.startswith("WRONG") for v in extra.values())
    ok = not verdict.lost and not verdict.problems and not unexpected and not bad_extra and verdict.refused_applied == 0
    print("RESULT               " + ("OK" if ok else "FAILED"))
    return ok


def run(target: Target, url: str | None, seconds: float, clients: int, crash: bool, seed: int) -> bool:
    var_dir = VAR / target.label
    var_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(target, var_dir, secrets.token_urlsafe(32))
    print(f"[{target.label}] database {target.database_url}", flush=True)
    credentials = provision(env)
    server: Server | None = None
    if url is None:
        server = Server(env, var_dir / ("crash-server.log" if crash else "server.log"))
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        url = server.url
        up = server.up
    else:
        up = threading.Event()
        up.set()
    log = Log()
    deadline = time.monotonic() + seconds
    ctx = Context(url, credentials.token, credentials.email, log, deadline, crash, up)
    stop = threading.Event()
    supervisor = None
    failures: list[str] = []  # the crash loop's own (a run without its kills proves nothing)
    if crash:
        assert server is not None

        def crash_loop_reported(server: Server = server) -> None:
            try:
                crash_loop(server, deadline, random.Random(seed), stop)
            except Exception as exc:  # noqa: BLE001 - reported as a failed check, not lost in the thread
                failures.append(f"{type(exc).__name__}: {exc}"[:300])
                server.up.set()  # the clients must not wait for a server that will not come back

        supervisor = threading.Thread(target=crash_loop_reported, name="crash-loop", daemon=True)
        supervisor.start()
    print(f"[{target.label}] {clients} clients for {seconds:.0f} s against {url}" + (" with SIGKILLs" if crash else ""), flush=True)
    try:
        elapsed = run_clients(ctx, clients, seed)
    finally:
        stop.set()
        if supervisor is not None:
            supervisor.join(timeout=150)
        if server is not None:
            server.stop()
    verdict = verify(log, target.database_url, credentials.account_id)
    extra = integrity(target)
    if crash:
        extra["crash loop"] = f"WRONG: {failures[0]}" if failures else f"ok ({server.kills if server else 0} SIGKILLs)"
    kills = server.kills if crash and server is not None else None
    down = server.down_seconds if server is not None else 0.0
    ok = summary(f"{'crash' if crash else 'load'} test on {target.label}", log, elapsed, verdict, extra, kills, down)
    dump(log, var_dir / f"{'crash' if crash else 'load'}-writes.jsonl")
    return ok


def main(argv: list[str] | None, crash: bool) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m tests.platform.load.{'crash' if crash else 'loadtest'}",
        description=("Mixed load with the server SIGKILLed and restarted every 10-15 s; then the database's integrity and every acknowledged write are checked."
                     if crash else "Mixed load through the API and the pages; then every acknowledged write is checked in the database."),
    )
    if not crash:
        parser.add_argument("--url", help="a server already running on 127.0.0.1 (needs --database-url, its database); default: start one")
    parser.add_argument("--database-url", help="use this database (a new account in it) instead of a fresh one")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both", help="fresh database(s) to run on (default: both)")
    parser.add_argument("--pg-url", default=DEFAULT_PG_SERVER, help="PostgreSQL server for --db postgres (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    url = getattr(args, "url", None)
    if url:
        if not args.database_url:
            parser.error("--url needs --database-url: the writes are checked in the server's database")
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("only a server on this machine (127.0.0.1) may be loaded")
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 3600:
        parser.error("--clients 1..200, --seconds 1..3600")
    name = "clientele_crash" if crash else "clientele_load"
    targets: list[Callable[[], Target]]
    if args.database_url:
        targets = [lambda: given_target(args.database_url)]
    else:
        targets = []
        if args.db in ("sqlite", "both"):
            targets.append(lambda: sqlite_target(name))
        if args.db in ("postgres", "both"):
            targets.append(lambda: postgres_target(name, args.pg_url))
    ok = True
    for make in targets:
        ok = run(make(), url, args.seconds, args.clients, crash, args.seed) and ok
    return 0 if ok else 1
