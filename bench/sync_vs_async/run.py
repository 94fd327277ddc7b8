"""Sync vs async SQLAlchemy under Litestar: SQLite and PostgreSQL.

Usage (from the repo root, with the project venv):

    .venv/bin/python bench/sync_vs_async/run.py [--duration 10] [--warmup 3]
        [--connections 16] [--variants sqlite-sync,pg-asyncpg,...] [--repeat 1]

For every variant it starts `uvicorn run:create_app --factory` (1 worker,
127.0.0.1, free port, access log off) as a subprocess, warms it up, then
drives it with `wrk` (or, when wrk is missing, an httpx+asyncio client in a
separate process) for --duration seconds per endpoint:

    GET /customers?account_id=A&page=N   30 rows, WHERE account_id ORDER BY id OFFSET
    GET /customers/{id}                  one row by primary key

Data: table `customers` (id, account_id, first_name, last_name, email, city),
10,000 rows over 10 accounts, index on (account_id, id). SQLite lives in a
temporary file; on PostgreSQL (127.0.0.1:5432, user postgres, db `test`) it is
in a schema `bench_sva_<pid>` that is dropped at the end. All traffic is on
loopback and every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
)

HERE = Path(__file__).resolve().parent
N_ROWS = 10_000
N_ACCOUNTS = 10
PAGE_SIZE = 30
N_PAGES = (N_ROWS // N_ACCOUNTS + PAGE_SIZE - 1) // PAGE_SIZE  # 34
POOL_SIZE = 16  # same pool for every variant: one connection per client
PG_BASE = "postgres@127.0.0.1:5432/test"

VARIANTS: dict[str, dict[str, str]] = {
    # name: mode, url template ({sqlite} = db file path)
    "sqlite-sync": {"mode": "sync", "url": "sqlite+pysqlite:///{sqlite}"},
    "sqlite-aiosqlite": {"mode": "async", "url": "sqlite+aiosqlite:///{sqlite}"},
    "pg-psycopg-sync": {"mode": "sync", "url": f"postgresql+psycopg://{PG_BASE}"},
    "pg-psycopg-async": {"mode": "async", "url": f"postgresql+psycopg_async://{PG_BASE}"},
    "pg-asyncpg": {"mode": "async", "url": f"postgresql+asyncpg://{PG_BASE}"},
}


def make_table(schema: str | None) -> Table:
    md = MetaData(schema=schema)
    t = Table(
        "customers",
        md,
        Column("id", Integer, primary_key=True),
        Column("account_id", Integer, nullable=False),
        Column("first_name", String(50), nullable=False),
        Column("last_name", String(50), nullable=False),
        Column("email", String(120), nullable=False),
        Column("city", String(60), nullable=False),
    )
    Index("ix_customers_account_id_id", t.c.account_id, t.c.id)
    return t


# --------------------------------------------------------------------------
# The Litestar app (run inside the uvicorn subprocess)
# --------------------------------------------------------------------------


def create_app():  # uvicorn --factory entry point
    from litestar import Litestar, get
    from litestar.exceptions import NotFoundException

    mode = os.environ["SVA_MODE"]
    url = os.environ["SVA_URL"]
    schema = os.environ.get("SVA_SCHEMA") or None
    t = make_table(schema)
    pool_kw: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 0}

    def list_stmt(account_id: int, page: int):
        return (
            select(t)
            .where(t.c.account_id == account_id)
            .order_by(t.c.id)
            .limit(PAGE_SIZE)
            .offset(page * PAGE_SIZE)
        )

    def one_stmt(customer_id: int):
        return select(t).where(t.c.id == customer_id)

    if mode == "sync":
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        engine = create_engine(url, connect_args=connect_args, **pool_kw)

        @get("/customers", sync_to_thread=True)
        def list_customers(page: int = 0, account_id: int = 1) -> list[dict[str, Any]]:
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(list_stmt(account_id, page)).mappings()]

        @get("/customers/{customer_id:int}", sync_to_thread=True)
        def get_customer(customer_id: int) -> dict[str, Any]:
            with engine.connect() as conn:
                row = conn.execute(one_stmt(customer_id)).mappings().first()
            if row is None:
                raise NotFoundException()
            return dict(row)

        async def shutdown() -> None:
            engine.dispose()

    else:
        from sqlalchemy.ext.asyncio import create_async_engine

        aengine = create_async_engine(url, **pool_kw)

        @get("/customers")
        async def list_customers(page: int = 0, account_id: int = 1) -> list[dict[str, Any]]:
            async with aengine.connect() as conn:
                res = await conn.execute(list_stmt(account_id, page))
                return [dict(r) for r in res.mappings()]

        @get("/customers/{customer_id:int}")
        async def get_customer(customer_id: int) -> dict[str, Any]:
            async with aengine.connect() as conn:
                row = (await conn.execute(one_stmt(customer_id))).mappings().first()
            if row is None:
                raise NotFoundException()
            return dict(row)

        async def shutdown() -> None:
            await aengine.dispose()

    return Litestar(route_handlers=[list_customers, get_customer], on_shutdown=[shutdown])


# --------------------------------------------------------------------------
# Data setup / teardown
# --------------------------------------------------------------------------

CITIES = ["Lisbon", "Oslo", "Lima", "Osaka", "Quito", "Perth", "Turin", "Accra"]


def rows() -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "account_id": i % N_ACCOUNTS + 1,  # accounts interleaved, so the index matters
            "first_name": f"First{i}",
            "last_name": f"Last{i % 997}",
            "email": f"user{i}@example.test",
            "city": CITIES[i % len(CITIES)],
        }
        for i in range(1, N_ROWS + 1)
    ]


def setup_db(url: str, schema: str | None) -> None:
    engine = create_engine(url)
    t = make_table(schema)
    with engine.begin() as conn:
        if schema:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        t.metadata.create_all(conn)
        conn.execute(insert(t), rows())
    with engine.connect() as conn:
        if schema:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f'VACUUM ANALYZE "{schema}".customers')
            )
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        n = conn.execute(select(t.c.id).order_by(t.c.id.desc()).limit(1)).scalar()
        assert n == N_ROWS, n
    engine.dispose()


def drop_pg_schema(schema: str) -> None:
    engine = create_engine(f"postgresql+psycopg://{PG_BASE}")
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


# --------------------------------------------------------------------------
# Server process control
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(mode: str, url: str, schema: str | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, SVA_MODE=mode, SVA_URL=url, SVA_SCHEMA=schema or "")
    cmd = [
        sys.executable, "-m", "uvicorn", "run:create_app", "--factory",
        "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    for _ in range(100):  # bounded: ~10 s
        time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/customers/1", timeout=1) as r:
                if r.status == 200:
                    body = json.loads(r.read())
                    assert body["id"] == 1
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/customers?account_id=3&page=2", timeout=1
                    ) as r2:
                        page = json.loads(r2.read())
                    assert len(page) == PAGE_SIZE and all(c["account_id"] == 3 for c in page)
                    return proc, port
        except OSError:
            pass
    stop_server(proc)
    raise RuntimeError("server did not come up")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# Load generation
# --------------------------------------------------------------------------

WRK_LUA = r"""
local counter = 0
local mode = "list"
local naccounts, npages, nrows = %d, %d, %d
function init(args) mode = args[1] end
function request()
  counter = counter + 1
  local path
  if mode == "list" then
    local acct = counter %% naccounts + 1
    local page = math.floor(counter / naccounts) %% npages
    path = "/customers?account_id=" .. acct .. "&page=" .. page
  else
    path = "/customers/" .. ((counter * 7919) %% nrows + 1)
  end
  return wrk.format("GET", path)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_s":%%f,"p50_ms":%%f,"p99_ms":%%f,"errors":%%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.status + e.timeout))
end
""" % (N_ACCOUNTS, N_PAGES, N_ROWS)  # noqa: UP031 - a Lua script full of braces


def path_for(endpoint: str, i: int) -> str:
    if endpoint == "list":
        return f"/customers?account_id={i % N_ACCOUNTS + 1}&page={(i // N_ACCOUNTS) % N_PAGES}"
    return f"/customers/{(i * 7919) % N_ROWS + 1}"


def load_wrk(port: int, endpoint: str, duration: float, conns: int, lua: Path) -> dict:
    cmd = [
        "wrk", "-t1", f"-c{conns}", f"-d{int(duration)}s", "--timeout", "5s",
        "-s", str(lua), f"http://127.0.0.1:{port}", "--", endpoint,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    d = json.loads(line[len("WRKJSON ") :])
    d["rps"] = d["requests"] / d["duration_s"]
    return d


async def _httpx_load(port: int, endpoint: str, duration: float, conns: int) -> dict:
    import httpx

    lat: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:
        t0 = time.perf_counter()
        deadline = t0 + duration

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:  # bounded by time
                s = time.perf_counter()
                r = await client.get(path_for(endpoint, next(counter)))
                lat.append(time.perf_counter() - s)
                errors += r.status_code != 200

        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=100)
    return {
        "requests": len(lat),
        "duration_s": elapsed,
        "rps": len(lat) / elapsed,
        "p50_ms": statistics.median(lat) * 1e3,
        "p99_ms": q[98] * 1e3,
        "errors": errors,
    }


def load(port: int, endpoint: str, duration: float, conns: int, lua: Path | None) -> dict:
    if lua is not None:
        return load_wrk(port, endpoint, duration, conns, lua)
    # separate client process so the client never shares the server's event loop
    cmd = [sys.executable, __file__, "--client", str(port), endpoint, str(duration), str(conns)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        port, endpoint, duration, conns = sys.argv[2:6]
        res = asyncio.run(_httpx_load(int(port), endpoint, float(duration), int(conns)))
        print(json.dumps(res))
        return

    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args()

    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_sva_"))
    lua = None
    if use_wrk:
        lua = tmp / "paths.lua"
        lua.write_text(WRK_LUA)
    sqlite_path = tmp / "bench_sva.db"
    schema = f"bench_sva_{os.getpid()}"
    variants = args.variants.split(",")
    results: list[dict] = []
    try:
        if any(v.startswith("sqlite") for v in variants):
            setup_db(f"sqlite+pysqlite:///{sqlite_path}", None)
        if any(v.startswith("pg") for v in variants):
            setup_db(f"postgresql+psycopg://{PG_BASE}", schema)
        for rep in range(args.repeat):
            for name in variants:
                spec = VARIANTS[name]
                url = spec["url"].format(sqlite=sqlite_path)
                proc, port = start_server(
                    spec["mode"], url, None if name.startswith("sqlite") else schema
                )
                try:
                    for endpoint in ("list", "get"):
                        load(port, endpoint, args.warmup, args.connections, lua)
                        c0 = cpu_seconds(proc.pid)
                        r = load(port, endpoint, args.duration, args.connections, lua)
                        r["server_cpu_ms_per_req"] = (
                            (cpu_seconds(proc.pid) - c0) * 1e3 / max(r["requests"], 1)
                        )
                        r.update(variant=name, endpoint=endpoint, rep=rep)
                        results.append(r)
                        print(
                            f"{name:18s} {endpoint:4s} rep{rep} {r['rps']:8.0f} req/s  "
                            f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                            f"cpu {r['server_cpu_ms_per_req']:.3f} ms/req  err {r['errors']}",
                            flush=True,
                        )
                finally:
                    stop_server(proc)
    finally:
        if any(v.startswith("pg") for v in variants):
            drop_pg_schema(schema)
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1))
    print("\n| variant | endpoint | req/s | p50 ms | p99 ms | server CPU ms/req |")
    print("|---|---|---:|---:|---:|---:|")
    for name in variants:
        for endpoint in ("list", "get"):
            rs = [r for r in results if r["variant"] == name and r["endpoint"] == endpoint]
            med = lambda k, rs=rs: statistics.median(r[k] for r in rs)
            print(
                f"| {name} | {endpoint} | {med('rps'):.0f} | {med('p50_ms'):.2f} | "
                f"{med('p99_ms'):.2f} | {med('server_cpu_ms_per_req'):.3f} |"
            )
    print(f"\nclient: {'wrk' if use_wrk else 'httpx'}, {args.connections} connections, "
          f"{args.duration:.0f} s per cell, {args.repeat} rep(s) (median shown)")


if __name__ == "__main__":
    main()
