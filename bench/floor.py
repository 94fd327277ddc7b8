"""The SQL floor of every case: the statements a request really runs, replayed directly.

Run by `bench.run` as a subprocess, with the benchmark database's environment:

    python -m bench.floor --db sqlite --customers N --ctx ctx.json --out captured.pickle

1. Capture. The real app (`app.main.create_app`) serves each case in-process
   through Litestar's TestClient, signed in like the latency client. SQLAlchemy
   events record every statement the request sends to the driver, with its
   parameters, in order, plus the transaction ends (COMMIT, ROLLBACK, the
   pool's rollback-on-return) and a pool pre-ping where the pool has one, each
   on the connection that ran it (from the app's pool or, on PostgreSQL, the
   pool for writes that need no WAL flush), with the connection's autocommit
   mode at the time, and tagged by the code that ran it: `session`
   (server-side session store), `auth` (signed-in user / API token),
   `ratelimit`, or `data` (everything else: the customer service, lazy loads).
   The time spent in Jinja's `Template.render` is measured too (minus any SQL
   run while rendering): the template rendering cost of a page.
2. EXPLAIN. Every data SELECT is explained (EXPLAIN QUERY PLAN on SQLite,
   EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL).
3. Replay (`Replayer`, used by `bench.run` between the latency requests). The
   captured operations run on plain DBAPI connections (sqlite3 / psycopg, no
   SQLAlchemy, no pool, no ORM), fetching every row; the median over the
   rounds is the floor: what the request costs in the database and the driver
   alone. "data" replays only the data statements.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import Target, median, p99

TAGS = (
    ("app/web/store.py", "session"),
    ("app/web/auth.py", "auth"),
    ("app/api/auth.py", "auth"),
    ("app/accounts/tokens.py", "auth"),
    ("app/shared/ratelimit.py", "ratelimit"),
)


def _tag() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        for suffix, tag in TAGS:
            if filename.endswith(suffix):
                return tag
        frame = frame.f_back
    return "data"


class Recorder:
    """Records what one request sends to the database."""

    def __init__(self, engine, ephemeral=None) -> None:
        from sqlalchemy import event

        self.ops: list[dict[str, Any]] | None = None
        self.rendering = threading.local()
        self.sql_in_render = 0.0
        self.statements_in_render = 0
        self.ephemeral_connections: set[int] = set()
        for each in (engine, ephemeral):
            if each is None:
                continue
            event.listen(each, "before_cursor_execute", self._before)
            event.listen(each, "after_cursor_execute", self._after)
            event.listen(each, "commit", lambda conn: self._add({"op": "commit"}, conn.connection.dbapi_connection))
            event.listen(each, "rollback", lambda conn: self._add({"op": "rollback"}, conn.connection.dbapi_connection))
            if each.pool._pre_ping:
                event.listen(each.pool, "checkout", self._checkout)
            event.listen(each.pool, "reset", self._reset)
        if ephemeral is not None:
            event.listen(ephemeral.pool, "connect", lambda dbapi_connection, _record: self.ephemeral_connections.add(id(dbapi_connection)))

    def _add(self, op: dict[str, Any], dbapi_connection: Any) -> None:
        if self.ops is not None:
            op["tag"] = _tag()
            op["cid"] = id(dbapi_connection)
            op["autocommit"] = bool(getattr(dbapi_connection, "autocommit", False))
            op["ephemeral"] = id(dbapi_connection) in self.ephemeral_connections
            self.ops.append(op)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        # An "insertmanyvalues" batch comes with executemany set but runs as one statement with flat parameters.
        many = bool(executemany) and not isinstance(parameters, dict) and all(isinstance(p, (dict, list, tuple)) for p in parameters)
        if isinstance(parameters, dict):
            params: Any = dict(parameters)
        elif many:
            params = [p if isinstance(p, dict) else tuple(p) for p in parameters]
        else:
            params = tuple(parameters or ())
        self._add({"op": "sql", "sql": statement, "params": params, "many": many}, conn.connection.dbapi_connection)
        if getattr(self.rendering, "on", False):
            conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        t0 = conn.info.pop("bench_t0", None)
        if t0 is not None:
            self.sql_in_render += time.perf_counter() - t0
            self.statements_in_render += 1

    def add_async_read(self, sql: str, params: Any, connection_id: int, prepare: bool) -> None:
        """A statement of the app's reads on the event loop (app/database/async_reads.py: the API's token, the
        session, the signed-in user), which SQLAlchemy's events do not see: autocommit, prepared on PostgreSQL."""
        if self.ops is not None:
            self.ops.append({"op": "sql", "sql": sql, "params": params, "many": False, "prepare": prepare, "tag": _tag(),
                             "cid": connection_id, "autocommit": True, "ephemeral": False})

    def _checkout(self, dbapi_connection, record, proxy) -> None:
        self._add({"op": "ping"}, dbapi_connection)

    def _reset(self, dbapi_connection, record, state) -> None:
        if not state.transaction_was_reset:
            self._add({"op": "rollback"}, dbapi_connection)


def patch_async_reads(recorder: Recorder) -> None:
    """Record what the app's reads on the event loop send (they bypass SQLAlchemy's engine events)."""
    from app.database.async_reads import PoolReads, SyncReads

    pool_first, sync_first = PoolReads.first, SyncReads.first

    async def first_pooled(self, stmt, values):
        read = self.compiled(stmt)
        recorder.add_async_read(read.sql, read.parameters(values), id(await self.pool()), prepare=True)
        return await pool_first(self, stmt, values)

    async def first_in_place(self, stmt, values):
        read = self.compiled(stmt)
        recorder.add_async_read(read.sql, read.parameters(values), id(self._connection()), prepare=False)
        return await sync_first(self, stmt, values)

    PoolReads.first, SyncReads.first = first_pooled, first_in_place


def patch_render(recorder: Recorder, sink: list[float]) -> None:
    """Time every top-level Jinja Template.render, net of SQL run while rendering."""
    import jinja2.environment

    original = jinja2.environment.Template.render

    def render(self, *args, **kwargs):
        if getattr(recorder.rendering, "on", False):
            return original(self, *args, **kwargs)
        recorder.rendering.on = True
        recorder.sql_in_render = 0.0
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t0 - recorder.sql_in_render)
            recorder.rendering.on = False

    jinja2.environment.Template.render = render


# -- replay ------------------------------------------------------------------


def connect(target: Target, ephemeral: bool = False):
    """A plain DBAPI connection set up as the app's engine (or its pool for
    writes that need no WAL flush) sets up its own."""
    if target.db == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target.sqlite_path, isolation_level=None, check_same_thread=False, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        return conn
    import psycopg

    options = {"options": "-c synchronous_commit=off"} if ephemeral else {}
    return psycopg.connect(target.database_url, prepare_threshold=None, **options)


def run_ops(conns: list[Any], ops: list[dict[str, Any]], timings: list[list[float]] | None = None) -> float:
    """Run captured operations; each on the connection that ran it in the app (the pool's Nth distinct one)."""
    start = time.perf_counter()
    for index, op in enumerate(ops):
        t0 = time.perf_counter()
        kind = op["op"]
        conn = conns[op["c"]]
        if getattr(conn, "autocommit", None) not in (None, op["autocommit"]):
            # psycopg: as the pool switches a connection for autocommit reads (client-side, no round trip)
            conn.rollback()
            conn.autocommit = op["autocommit"]
        if kind == "sql":
            cursor = conn.cursor()
            if op["many"]:
                cursor.executemany(op["sql"], op["params"])
            elif op.get("prepare"):
                cursor.execute(op["sql"], op["params"], prepare=True)
            else:
                cursor.execute(op["sql"], op["params"])
            if cursor.description is not None:
                cursor.fetchall()
            cursor.close()
        elif kind == "ping":
            cursor = conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        elif kind == "commit":
            conn.commit()
        elif kind == "rollback":
            conn.rollback()
        if timings is not None:
            timings[index].append(time.perf_counter() - t0)
    return time.perf_counter() - start


def _connections_for(target: Target, conns: list[Any], wanted: list[bool]) -> list[Any]:
    """``conns`` made to match ``wanted`` (per connection: from the pool without WAL flush?);
    connections of the wrong kind are replaced."""
    for index, ephemeral in enumerate(wanted):
        if index < len(conns) and getattr(conns[index], "clientele_ephemeral", False) != ephemeral:
            conns[index].close()
            conns[index] = None
        if index >= len(conns):
            conns.append(None)
        if conns[index] is None:
            conns[index] = connect(target, ephemeral)
            try:
                conns[index].clientele_ephemeral = ephemeral
            except AttributeError:  # sqlite3 connections take no attributes; SQLite has one kind only
                pass
    return conns


def finish(conns: list[Any]) -> None:
    """End whatever transaction a replay left open (as the pool's rollback-on-return would)."""
    for conn in conns:
        conn.rollback()


def number_connections(ops: list[dict[str, Any]]) -> list[bool]:
    """Replace each DBAPI connection's id by 0, 1, ... in order of first use;
    return, per connection, whether it came from the pool for writes that need no WAL flush."""
    numbers: dict[int, int] = {}
    ephemeral: list[bool] = []
    for op in ops:
        cid = op.pop("cid")
        if cid not in numbers:
            numbers[cid] = len(numbers)
            ephemeral.append(op["ephemeral"])
        op["c"] = numbers[cid]
    return ephemeral


def explain(target: Target, conn, op: dict[str, Any]) -> str:
    sql = op["sql"]
    head = sql.lstrip().split(None, 1)[0].upper()
    if head not in ("SELECT", "WITH"):
        return ""
    cursor = conn.cursor()
    try:
        if target.db == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, op["params"])
            rows = cursor.fetchall()
            depth: dict[int, int] = {0: -1}
            lines = []
            for node, parent, _unused, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return "\n".join(lines)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, op["params"])
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
        conn.rollback()


# -- main ---------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--ctx", required=True)
    parser.add_argument("--out", required=True, help="pickle of the captured operations")
    parser.add_argument("--captures", type=int, default=30)
    args = parser.parse_args()
    target = Target(args.db, args.customers)
    ctx = json.loads(Path(args.ctx).read_text())
    os.environ.update(target.env())  # before the app reads its settings

    from litestar.testing import TestClient
    from sqlalchemy import text

    from app.database.engine import ephemeral_engine, get_engine
    from app.main import create_app
    from bench.cases import Session, build_cases

    engine = get_engine()
    recorder = Recorder(engine, ephemeral_engine())
    renders: list[float] = []
    patch_render(recorder, renders)
    patch_async_reads(recorder)
    cases = build_cases(ctx)
    captured: dict[str, dict[str, Any]] = {}
    edit_id = ctx["edit"]["id"]

    app = create_app()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with TestClient(app=app, base_url="http://127.0.0.1") as client:
        session = Session(client, ctx["token"], ctx["email"], ctx["password"])
        counter = 0
        for case in cases:
            for _ in range(5):  # warm-up: caches, pool, first renders
                session.request(case, counter)
                counter += 1
            render_ms: list[float] = []
            for _ in range(args.captures):
                version = None
                words: list[dict[str, Any]] = []
                if case.kind == "write":
                    with engine.connect() as c:
                        version = c.execute(text("SELECT version FROM customers WHERE id = :id"), {"id": edit_id}).scalar_one()
                        words = [dict(r._mapping) for r in c.execute(text(f"SELECT * FROM {WORDS} WHERE customer_id = :id"), {"id": edit_id})]
                if case.kind == "api":
                    # As in the latency rounds, where each round's save comes first: the account has
                    # changed, so an API list is read from the database, not from the remembered response.
                    with engine.begin() as c:
                        c.execute(text("UPDATE accounts SET customers_revision = customers_revision + 1 WHERE id = :id"),
                                  {"id": ctx["account_id"]})
                renders.clear()
                recorder.statements_in_render = 0
                recorder.ops = []
                gc.disable()
                try:
                    response = session.request(case, counter)
                finally:
                    gc.enable()
                ops, recorder.ops = recorder.ops, None
                index, counter = counter, counter + 1
                if response.status_code != case.expect:
                    raise RuntimeError(f"{case.key}: {response.status_code} {response.text[:300]}")
                render_ms.append(sum(renders) * 1000)
            captured[case.key] = {
                "ops": ops,
                "connections": number_connections(ops),  # per connection: from the pool without WAL flush?
                "render_ms": median(render_ms),
                "statements_in_render": recorder.statements_in_render,
                "reset_version": version,
                "reset_words": words,  # the customer's word postings before the save, which the replay rewrites
                "iteration": index,  # which alternating form the captured request posted
            }
    engine.dispose()

    # Plans of the data SELECTs, on plain connections.
    conns: list[Any] = []
    try:
        for case in cases:
            cap = captured[case.key]
            conns = _connections_for(target, conns, cap["connections"])
            plans: dict[str, str] = {}
            for op in cap["ops"]:
                if op["op"] == "sql" and op["tag"] == "data" and op["sql"] not in plans:
                    plans[op["sql"]] = explain(target, conns[op["c"]], op)
            cap["plans"] = plans
    finally:
        for c in conns:
            c.close()
    with open(args.out, "wb") as fh:
        pickle.dump(captured, fh)


WORDS = "customer_words"  # app.customers.models.CustomerWord


class Replayer:
    """Replays the captured operations of every case on plain DBAPI connections, timing each replay.

    `bench.run` calls it inside the latency rounds, right after each HTTP request of the same case,
    so that the floor and the server's latency are measured under the same conditions.
    """

    def __init__(self, target: Target, captured: dict[str, dict[str, Any]], edit_id: int) -> None:
        self.target, self.captured, self.edit_id = target, captured, edit_id
        self.conns: list[Any] = []
        self.samples: dict[str, dict[str, list[float]]] = {key: {"all": [], "data": []} for key in captured}
        self.per_op: dict[str, list[list[float]]] = {key: [[] for _ in cap["ops"]] for key, cap in captured.items()}
        self.data_ops = {key: [op for op in cap["ops"] if op["tag"] == "data"] for key, cap in captured.items()}

    def _reset(self, cap: dict[str, Any]) -> None:
        """Before a captured write: give the row back the version it had, so that the UPDATE matches again."""
        if cap["reset_version"] is None:
            return
        ph = self.target.placeholder
        conn = self.conns[0]
        cursor = conn.cursor()
        cursor.execute(f"UPDATE customers SET version = {ph} WHERE id = {ph}", (cap["reset_version"], self.edit_id))
        # The save replaces the word postings that changed: give back the ones it found, so that its inserts insert again.
        cursor.execute(f"DELETE FROM {WORDS} WHERE customer_id = {ph}", (self.edit_id,))
        for row in cap.get("reset_words", []):
            cursor.execute(f"INSERT INTO {WORDS} ({', '.join(row)}) VALUES ({', '.join([ph] * len(row))})", tuple(row.values()))
        cursor.close()
        conn.commit()

    def replay(self, key: str, record: bool) -> None:
        """One replay of the whole request, then one of its data statements alone."""
        cap = self.captured[key]
        self.conns = _connections_for(self.target, self.conns, cap["connections"] or [False])
        for which, ops in (("all", cap["ops"]), ("data", self.data_ops[key])):
            self._reset(cap)
            collecting = gc.isenabled()
            gc.disable()
            try:
                elapsed = run_ops(self.conns, ops, self.per_op[key] if record and which == "all" else None)
            finally:
                if collecting:
                    gc.enable()
            finish(self.conns)
            if record:
                self.samples[key][which].append(elapsed * 1000)

    def results(self, labels: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, cap in self.captured.items():
            ops = cap["ops"]
            out[key] = {
                "label": labels.get(key, key),
                "floor_ms": median(self.samples[key]["all"]),
                "floor_p99_ms": p99(self.samples[key]["all"]),
                "floor_data_ms": median(self.samples[key]["data"]),
                "replays": len(self.samples[key]["all"]),
                "render_ms": cap["render_ms"],
                "statements_in_render": cap["statements_in_render"],
                "statements": sum(1 for op in ops if op["op"] == "sql"),
                "data_statements": sum(1 for op in self.data_ops[key] if op["op"] == "sql"),
                "commits": sum(1 for op in ops if op["op"] == "commit"),
                "connections": len(cap["connections"]),
                "ops": [
                    {
                        "op": op["op"],
                        "tag": op["tag"],
                        "conn": op["c"],
                        "sql": op.get("sql", ""),
                        "params": repr(op.get("params", ""))[:300],
                        "median_ms": median(self.per_op[key][i]) * 1000,
                        "plan": cap["plans"].get(op.get("sql", ""), "") if op["op"] == "sql" and op["tag"] == "data" else "",
                    }
                    for i, op in enumerate(ops)
                ],
            }
        return out

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.conns = []


if __name__ == "__main__":
    main()
