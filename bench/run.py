"""The benchmark: `make bench`, i.e. `python -m bench.run [--customers N] [--db sqlite|postgresql|both] [--quick] [--no-peers]`.

For each database:

1. Data. A dedicated database (SQLite `var/bench/sqlite/clientele.db`,
   PostgreSQL `clientele_bench` on 127.0.0.1:5432; other sizes than the
   default get `-N` / `_N` suffixes) is reused when its account "Bench"
   already holds N customers; otherwise it is made afresh with the real CLI:
   `clientele db upgrade`, `accounts create Bench`, `seed --customers N
   --account Bench --seed 1`. A user (password on stdin) and an API token
   come from the CLI too.
2. Capture (`bench/floor.py`, a subprocess): the statements each case runs,
   captured from the real app in-process, and the template rendering time.
3. Latency and floors. `clientele run --port P --no-demo` (one worker, as
   `make run`) in a subprocess; this process signs in through `POST /login`,
   then sends the cases in rounds (one request of each case per round,
   sequentially, one keep-alive connection each for the pages and the API):
   warm-up rounds, then measured rounds. Median and p99 per case, client-side
   wall time. After each request, its captured statements are replayed on a
   plain DBAPI connection (the SQL floor), under the same conditions.
   Then the server's CPU time per request, case by case.
4. Throughput. `GET /api/customers/?page=2` against `clientele run
   --workers 2`, and the same bytes from memory by a bare Litestar app
   (`bench/bare_app.py`) under uvicorn with 2 workers, loaded by `wrk`
   alternately.

5. Search as people type it (`bench/searches.py`): the terms `bench/search_kinds.py` draws from the
   data (fixed seed, ten a kind) on the list page in every order and through the API with its list
   memory off, against the plain list; then the plain list and the last-name search in SQLAdmin and
   starlette-admin over the same database (`bench/peers/`, var/peers-venv), beside ours.

It prints one table and writes it, with the machine and the method, to
BENCHMARKS.md. Servers are stopped (their whole process group) on every exit.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import gc
import json
import pickle
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import report, searches
from bench.cases import Case, Session, build_cases
from bench.changes import kept_section
from bench.common import (
    DEFAULT_CUSTOMERS,
    ROOT,
    Server,
    Target,
    bare_server,
    clientele_server,
    cpu_seconds,
    loadavg,
    median,
    p99,
)
from bench.floor import Replayer
from bench.load import run_load
from bench.prepare import log, prepare
from bench.wire import WireClient, WireError, WireResponse

RUNNING: list[Server] = []


def _stop_all() -> None:
    while RUNNING:
        RUNNING.pop().stop()


def _start(server: Server) -> Server:
    RUNNING.append(server)
    log(f"  starting {server.name} on port {server.port}")
    return server.start()


def _stop(server: Server) -> None:
    server.stop()
    if server in RUNNING:
        RUNNING.remove(server)


# -- latency -----------------------------------------------------------------


def _send(session: Session, wire: WireClient, case: Case, i: int) -> WireResponse:
    path, headers, form = session.parts(case, i)
    return wire.request(case.method, path, headers=headers, data=form)


TRANSPORT_ERRORS = (httpx.TransportError, WireError)


class Harness:
    """The latency clients and the servers they talk to; reconnects when a server was stopped from outside."""

    MAX_RESTARTS = 5

    def __init__(self, target: Target, ctx: dict[str, Any], cases: list[Case], body_path: Path) -> None:
        self.target, self.ctx, self.cases, self.body_path = target, ctx, cases, body_path
        self.server = _start(clientele_server(target))
        self.bare: Server | None = None
        self.clients: list[httpx.Client | WireClient] = []
        self.restarts: list[str] = []
        self.connect()

    def connect(self) -> None:
        for c in self.clients:
            c.close()
        ctx = self.ctx
        client = httpx.Client(base_url=self.server.base_url, timeout=60)
        api_client = httpx.Client(base_url=self.server.base_url, timeout=60)
        session = Session(client, ctx["token"], ctx["email"], ctx["password"])
        # The API uses its own keep-alive connection, as an integration would.
        api_session = Session(api_client, ctx["token"])
        if self.bare is None:
            page2 = api_client.get("/api/customers/?page=2", headers=api_session.api_headers)
            page2.raise_for_status()
            self.body_path.write_bytes(page2.content)
            self.bare = _start(bare_server(self.target, self.body_path))
        # The timed requests go out through lean clients (bench/wire.py), with the sign-in's cookies.
        page_wire = WireClient(self.server.base_url, session.cookie_header())
        api_wire = WireClient(self.server.base_url)
        bare_wire = WireClient(self.bare.base_url)
        self.clients = [client, api_client, page_wire, api_wire, bare_wire]
        self.probes: list[tuple[str, Any, int]] = []
        for case in self.cases:
            who, wire = (api_session, api_wire) if case.kind == "api" else (session, page_wire)
            self.probes.append((case.key, functools.partial(_send, who, wire, case), case.expect))
        self.probes.append(("bare", lambda i: bare_wire.get("/api/customers/", headers=api_session.api_headers), 200))

    def recover(self, exc: Exception) -> None:
        """A request failed at the transport level: restart whichever server is gone, or give up."""
        servers = [s for s in (self.server, self.bare) if s is not None]
        deadline = time.monotonic() + 20  # a server being stopped refuses connections before it exits
        while True:
            dead = [s for s in servers if s.proc is None or s.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not dead or len(self.restarts) >= self.MAX_RESTARTS:
            raise exc
        for server in dead:
            note = f"{server.name} exited ({server.proc.returncode if server.proc else '?'}) during the run"
            log(f"  !! {note}: restarting it; the interrupted round is discarded")
            self.restarts.append(f"{note} at {time.strftime('%H:%M:%S')}")
            server.proc = None
            server.start()
        self.connect()

    def close(self) -> None:
        for c in self.clients:
            c.close()
        if self.bare is not None:
            _stop(self.bare)
        _stop(self.server)


def latency(target: Target, ctx: dict[str, Any], cases: list[Case], warmup: int, rounds: int, body_path: Path,
            cpu_requests: int, replayer: Replayer) -> dict[str, Any]:
    """Sequential requests, case after case in rounds, against `clientele run` (1 worker).

    Right after each request, its captured SQL is replayed directly (the floor), so that both are
    measured under the same conditions (other load on the machine, the database's state).
    """
    h = Harness(target, ctx, cases, body_path)
    try:
        for key, call, expect in h.probes:  # every case must work before it is timed
            response = call(0)
            if response.status_code != expect:
                raise RuntimeError(f"{key}: HTTP {response.status_code}, expected {expect}: {response.text[:500]}")
        keys = [key for key, _, _ in h.probes]
        samples: dict[str, list[float]] = {key: [] for key in keys}
        errors: dict[str, int] = dict.fromkeys(keys, 0)
        log(f"  latency: {warmup} warm-up + {rounds} measured rounds of {len(keys)} requests; load average {loadavg()}")
        load_before = loadavg()
        started = time.monotonic()
        # A captured inline save sets the company to one of two values, and its replay sets it back after
        # every HTTP save: so the HTTP save always posts the other value, and really writes.
        writes = {c.key: replayer.captured[c.key]["iteration"] + 1 for c in cases if c.kind == "write"}
        rnd = 0
        # The client's own garbage collection runs between rounds, never inside a timed request. What it held
        # so far (the captured statements, the clients) is frozen out of it first: walking all of that took
        # ~20 ms a round, and left the server's CPU caches cold for whichever request came next.
        gc.collect()
        gc.freeze()
        while rnd < warmup + rounds:
            gc.collect()
            gc.disable()
            this_round: list[tuple[str, float, bool]] = []
            try:
                for key, call, expect in h.probes:
                    t0 = time.perf_counter()
                    response = call(writes.get(key, rnd + 1))
                    elapsed = time.perf_counter() - t0
                    this_round.append((key, elapsed * 1000, response.status_code != expect))
                    if key in replayer.captured:
                        replayer.replay(key, record=rnd >= warmup)
            except TRANSPORT_ERRORS as exc:
                gc.enable()
                h.recover(exc)
                continue
            finally:
                gc.enable()
            for key, ms, failed in this_round:
                errors[key] += failed
                if rnd >= warmup:
                    samples[key].append(ms)
            rnd += 1
            if rnd % 50 == 0:
                log(f"    round {rnd}/{warmup + rounds}")
        # Server CPU per request: a block of requests per case, CPU time of the server process before and after
        # (uvicorn with one worker serves in the `clientele run` process itself; PostgreSQL's CPU is not in it).
        cpu: dict[str, float] = {}
        index = 0
        while index < len(h.probes):
            key, call, _ = h.probes[index]
            pid = (h.bare if key == "bare" else h.server).proc.pid
            try:
                before = cpu_seconds(pid)
                for i in range(cpu_requests):
                    call(i)
                cpu[key] = (cpu_seconds(pid) - before) / cpu_requests * 1000
            except (*TRANSPORT_ERRORS, FileNotFoundError, ProcessLookupError) as exc:
                h.recover(exc if isinstance(exc, TRANSPORT_ERRORS) else WireError(str(exc)))
                continue
            index += 1
        return {
            "cases": {key: {"median_ms": median(v), "p99_ms": p99(v), "n": len(v), "errors": errors[key], "cpu_ms": cpu[key]}
                      for key, v in samples.items()},
            "seconds": time.monotonic() - started,
            "load_before": load_before,
            "load_after": loadavg(),
            "restarts": h.restarts,
        }
    finally:
        gc.unfreeze()
        h.close()


# -- throughput ---------------------------------------------------------------


def throughput(target: Target, ctx: dict[str, Any], body_path: Path, duration: int, warm: int, rounds: int,
               connections: int, threads: int) -> dict[str, Any]:
    """API list page 2: `clientele run --workers 2` against a bare Litestar app with 2 workers, alternately;
    and the app with its remembered API lists turned off, so that every request reads the database."""
    app = _start(clientele_server(target, workers=2))
    bare = _start(bare_server(target, body_path, workers=2))
    uncached = _start(clientele_server(target, workers=2, env={"CLIENTELE_API_CACHE_ENTRIES": "0"}, note=", remembering off"))
    headers = {"Authorization": f"Bearer {ctx['token']}"}
    runs: dict[str, list[dict[str, Any]]] = {"app": [], "bare": [], "uncached": []}
    restarts: list[str] = []
    try:
        for rnd in range(rounds):
            for name, server in (("app", app), ("bare", bare), ("uncached", uncached)):
                url = f"{server.base_url}/api/customers/?page=2"
                while True:
                    run_load(url, warm, connections, threads, headers)  # warm-up, discarded
                    result = run_load(url, duration, connections, threads, headers)
                    if server.proc is not None and server.proc.poll() is None:
                        break
                    # Stopped from outside during the run: its numbers mean nothing; restart and measure again.
                    note = f"{server.name} exited during the load run"
                    if len(restarts) >= 3:
                        raise RuntimeError(note + " too often")
                    log(f"  !! {note}: restarting it and repeating the run")
                    restarts.append(f"{note} at {time.strftime('%H:%M:%S')}")
                    server.proc = None
                    server.start()
                result["load"] = loadavg()
                runs[name].append(result)
                log(f"    round {rnd + 1}: {name:4} {result['rps']:8.0f} req/s, errors {result['errors']}, "
                    f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (load {result['load']})")
    finally:
        _stop(uncached)
        _stop(bare)
        _stop(app)
    app_rps = median([r["rps"] for r in runs["app"]])
    uncached_rps = median([r["rps"] for r in runs["uncached"]])
    bare_rps = median([r["rps"] for r in runs["bare"]])
    return {
        "app_rps": app_rps,
        "bare_rps": bare_rps,
        "ratio": app_rps / bare_rps if bare_rps else float("nan"),
        "uncached_rps": uncached_rps,
        "uncached_ratio": uncached_rps / bare_rps if bare_rps else float("nan"),
        "uncached_errors": sum(r["errors"] for r in runs["uncached"]),
        "uncached_p50_ms": median([r["p50_ms"] for r in runs["uncached"]]),
        "app_errors": sum(r["errors"] for r in runs["app"]),
        "bare_errors": sum(r["errors"] for r in runs["bare"]),
        "app_requests": sum(r["requests"] for r in runs["app"]),
        "bare_requests": sum(r["requests"] for r in runs["bare"]),
        "app_p50_ms": median([r["p50_ms"] for r in runs["app"]]),
        "app_p99_ms": median([r["p99_ms"] for r in runs["app"]]),
        "bare_p50_ms": median([r["p50_ms"] for r in runs["bare"]]),
        "bare_p99_ms": median([r["p99_ms"] for r in runs["bare"]]),
        "tool": runs["app"][0]["tool"],
        "duration": duration,
        "rounds": rounds,
        "connections": connections,
        "threads": threads,
        "body_bytes": body_path.stat().st_size,
        "restarts": restarts,
    }


# -- one database --------------------------------------------------------------


def capture(target: Target, ctx_path: Path, quick: bool) -> dict[str, Any]:
    """The statements of every case, captured from the app in-process (`bench/floor.py`, a subprocess)."""
    out = target.var_dir / "captured.pickle"
    args = [sys.executable, "-m", "bench.floor", "--db", target.db, "--customers", str(target.customers),
            "--ctx", str(ctx_path), "--out", str(out)]
    if quick:
        args += ["--captures", "5"]
    log("  SQL floors: capturing the statements of every case in-process (and the template rendering time)")
    subprocess.run(args, env=target.env(), cwd=ROOT, check=True)
    with open(out, "rb") as fh:
        return pickle.load(fh)


def bench_database(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    log(f"\n=== {target.db}: {target.customers:,} customers ===")
    ctx = prepare(target)
    ctx_path = target.var_dir / "ctx.json"
    ctx_path.write_text(json.dumps(ctx, indent=1))
    log(f"  terms drawn from the data: {', '.join(f'{kind} {terms[0]!r}…' for kind, terms in ctx['terms'].items())}; "
        f"last page {ctx['last_page']:,}")
    cases = build_cases(ctx)
    captured = capture(target, ctx_path, opts.quick)
    body_path = target.var_dir / "api_page2.json"
    replayer = Replayer(target, captured, ctx["edit"]["id"])
    try:
        lat = latency(target, ctx, cases, opts.warmup, opts.rounds, body_path, opts.cpu_requests, replayer)
    finally:
        replayer.close()
    floor = replayer.results({c.key: c.label for c in cases})
    (target.var_dir / "floors.json").write_text(json.dumps(floor, indent=1, default=str))
    log("  throughput: API list page 2, 2 workers, vs. the bare app")
    thr = throughput(target, ctx, body_path, opts.duration, opts.warm_seconds, opts.load_rounds, opts.connections, opts.threads)
    typed = searches.run(target, ctx, opts.search_repeat, opts.peers, _start, _stop, log)
    return {"db": target.db, "target": target, "ctx": ctx, "cases": cases, "floor": floor, "latency": lat, "throughput": thr,
            "searches": typed, "versions": db_version(target)}


def db_version(target: Target) -> str:
    from contextlib import closing

    with closing(target.raw_connect()) as conn:
        if target.db == "sqlite":
            return "SQLite " + conn.execute("select sqlite_version()").fetchone()[0]
        return conn.execute("show server_version").fetchone()[0].join(("PostgreSQL ", ""))


def code_version() -> str:
    """The commit the app ran from, and whether app/, templates/ or migrations/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "log", "-1", "--format=%h %cd %s", "--date=format:%Y-%m-%d %H:%M"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "templates", "migrations"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=False).stdout.split("\n")
        changed = sorted({line[3:] for line in dirty if line.strip()})
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"`{head}`" + (f", with uncommitted changes in {', '.join(changed)}" if changed else "")


def pg_available() -> bool:
    try:
        import psycopg

        from bench.common import PG_SERVER

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
        return True
    except Exception as exc:  # noqa: BLE001
        log(f"PostgreSQL is not reachable ({exc}); skipping it")
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="fewer requests and shorter load runs (for development)")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"), help="where to write the report")
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="leave out SQLAdmin and starlette-admin (they run from var/peers-venv: make bench-peers-venv)")
    parser.add_argument("--report-only", action="store_true", help="write the report again from the last run's saved results")
    opts = parser.parse_args()
    saved = ROOT / "var" / "bench" / "last-run.pickle"
    if opts.report_only:
        with open(saved, "rb") as fh:
            results, meta = pickle.load(fh)
        for result in results:
            result["cases"] = build_cases(result["ctx"])
        Path(opts.output).write_text(report.render(results, meta) + kept_section(Path(opts.output)))
        print(report.summary(results, meta))
        log(f"\nwrote {opts.output} from {saved}")
        return
    opts.search_repeat = 3 if opts.quick else 5
    if opts.quick:
        opts.warmup, opts.rounds, opts.duration, opts.warm_seconds, opts.load_rounds, opts.cpu_requests = 5, 40, 4, 1, 1, 20
    else:
        opts.warmup, opts.rounds, opts.duration, opts.warm_seconds, opts.load_rounds, opts.cpu_requests = 20, 200, 10, 3, 2, 100
    opts.connections, opts.threads = 16, 2

    atexit.register(_stop_all)
    code = code_version()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    load_start = loadavg()
    dbs = ["sqlite", "postgresql"] if opts.db == "both" else [opts.db]
    results = []
    skipped = []
    try:
        for db in dbs:
            if db == "postgresql" and not pg_available():
                skipped.append(db)
                continue
            results.append(bench_database(Target(db, opts.customers), opts))
    finally:
        _stop_all()
    meta = {
        "started": started,
        "finished": time.time(),
        "load_start": load_start,
        "load_end": loadavg(),
        "customers": opts.customers,
        "quick": opts.quick,
        "skipped": skipped,
        "python": platform.python_version(),
        "code": code,
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "settings": {k: getattr(opts, k) for k in ("warmup", "rounds", "duration", "warm_seconds", "load_rounds", "connections", "threads",
                                                   "cpu_requests", "search_repeat")},
    }
    saved.parent.mkdir(parents=True, exist_ok=True)
    with open(saved, "wb") as fh:
        pickle.dump(([{k: v for k, v in r.items() if k != "cases"} for r in results], meta), fh)
    text = report.render(results, meta)
    print("\n" + report.summary(results, meta))
    Path(opts.output).write_text(text + kept_section(Path(opts.output)))
    log(f"\nwrote {opts.output}")


if __name__ == "__main__":
    main()
