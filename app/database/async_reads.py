"""Single-row reads awaited on the event loop: the lookups every request starts with.

The app's persistence is synchronous SQLAlchemy, run in worker threads. The
lookups every request makes before its handler runs (an API call's token, a
page's session and signed-in user), though, cost less than a thread hop. So:

- On PostgreSQL it runs on psycopg's async connection pool (``psycopg_pool``),
  one pool per event loop (a worker has one), in autocommit. The statement is the same Core statement the synchronous path
  runs, compiled once by SQLAlchemy for the dialect, with SQLAlchemy's own
  parameter conversion, and prepared on the server at first use (a lookup by
  key, where a generic plan is the right one; not behind PgBouncer, see
  ``PoolReads.pooled``). The event loop never blocks on
  the network and no thread is involved. Reads asked for in the same turn of
  the event loop (requests that arrived together) go out together, on one
  connection in psycopg's pipeline mode: one round trip for all of them.
- On SQLite it runs in place, on a connection of the app's engine that the
  event loop's thread keeps for itself (SQLite's connections are in
  autocommit between the app's transactions: each read sees the database as
  committed at that moment). An indexed read in WAL mode never waits for a
  lock and takes microseconds in-process; the pool's checkout, BEGIN and
  ROLLBACK around it cost ten times the read.
"""

from __future__ import annotations

import asyncio
import threading
from collections import namedtuple
from collections.abc import Callable
from typing import Any, TypeAlias
from weakref import WeakKeyDictionary

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, Select

from app.config import get_settings
from app.database.engine import postgres_timeouts

# A SELECT of any columns: the reads here take any statement and give rows by column name.
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


def _row_type(names: list[str]) -> Any:
    """A named tuple type with these fields, known only at run time."""
    return namedtuple("Row", names, rename=True)


class CompiledRead:
    """A Core SELECT compiled for one dialect, with the converters of its parameters."""

    def __init__(self, stmt: AnySelect, dialect: Any) -> None:
        compiled = self.compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.converters: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in stmt.selected_columns]
        self.results: list[Any] | None = results if any(results) else None
        self.record: Any = _row_type([str(column.key) for column in stmt.selected_columns])
        self.positions: list[str] | None = compiled.positiontup  # the order of "?" parameters (SQLite); None: named

    def row(self, row: Any) -> Any:
        """A fetched row, by position and by column name, with SQLAlchemy's conversions of its values (aware datetimes, say)."""
        if row is None:
            return None
        if self.results is None:
            return self.record._make(row)
        return self.record._make(convert(value) if convert else value for convert, value in zip(self.results, row))

    def parameters(self, values: dict[str, Any]) -> dict[str, Any] | list[Any]:
        """Every parameter of the statement (``values`` and the literals it holds), converted for the driver,
        named or in order as its placeholders want."""
        named = {
            name: (convert(value) if (convert := self.converters.get(name)) else value)
            for name, value in self.compiled.construct_params(values).items()
        }
        return named if self.positions is None else [named[name] for name in self.positions]


class _Compiling:
    """Each statement compiled once for the engine's dialect."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect
        self._compiled: dict[AnySelect, CompiledRead] = {}

    def compiled(self, stmt: AnySelect) -> CompiledRead:
        read = self._compiled.get(stmt)
        if read is None:
            read = self._compiled[stmt] = CompiledRead(stmt, self.dialect)
        return read


class SyncReads(_Compiling):
    """SQLite: the read runs in place, on a connection each event loop's thread keeps (set up by the
    engine's own connect hooks, in autocommit), with the statement compiled once."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.engine = engine
        self._local = threading.local()

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            self._local.held = None
            held.close()  # back to the engine's pool

    def _connection(self) -> Any:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = self.engine.raw_connection()
        return held.driver_connection

    async def first(self, stmt: AnySelect, values: dict[str, Any]) -> Any:
        read = self.compiled(stmt)
        cursor = self._connection().execute(read.sql, read.parameters(values))
        try:
            return read.row(cursor.fetchone())
        finally:
            cursor.close()  # ends the statement, and with it the read's snapshot


_Waiting = tuple[CompiledRead, Any, "asyncio.Future[Any]"]  # a read, its parameters, who waits for its row


class PoolReads(_Compiling):
    """PostgreSQL: psycopg's async pool; each statement compiled once and prepared on the server.

    A pool belongs to the event loop it was opened in; one app can be served
    from several loops at once (test clients do that), so each loop gets its
    own, opened at its first read and closed by the app's shutdown in that loop.
    """

    # Connections per worker: a batch of reads holds one from its send until the event loop gets back to
    # the answer, behind the other requests' work. API list throughput, 2 workers, 16 clients: 3,900 req/s
    # with 4 connections and a round trip per read, 4,400 with 8, about 6,000 with reads sent together.
    def __init__(self, engine: Engine, max_size: int = 8) -> None:
        super().__init__(engine)
        self.max_size = max_size
        # Behind PgBouncer's transaction pooling, consecutive statements may reach different server
        # connections: a statement prepared on one is unknown to the next, and a pipeline's statements
        # would be split among them.
        self.pooled = get_settings().pgbouncer
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pools: WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = WeakKeyDictionary()
        self._opening: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()
        self._pending: dict[asyncio.AbstractEventLoop, list[_Waiting]] = {}  # the reads asked for in this turn
        self._running: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        await self.pool()

    async def close(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    async def pool(self) -> AsyncConnectionPool:
        """The running loop's pool, opened on first use (a database that is not up yet fails requests, not the start)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is not None:
            return pool
        async with self._opening.setdefault(loop, asyncio.Lock()):
            pool = self._pools.get(loop)
            if pool is None:
                settings = get_settings()
                # Behind PgBouncer the pooler sets the timeouts (it passes no ``options``).
                options = {} if settings.pgbouncer else {"options": postgres_timeouts(settings.lock_timeout, settings.statement_timeout)}
                # min_size 0: nothing is connected before the first read, nor re-made in the background while
                # idle (an app that serves nothing, or whose database went away, does not keep trying).
                # timeout 2 s: a read waits at most that long for a connection, so with the database down a
                # request fails in 2 s instead of hanging (the pool retries connecting in the background).
                pool = AsyncConnectionPool(
                    self.conninfo, min_size=0, max_size=self.max_size, open=False, timeout=2, name="clientele-async-reads",
                    kwargs={"autocommit": True, **options},
                )
                await pool.open(wait=False)
                self._pools[loop] = pool
        return pool

    async def first(self, stmt: AnySelect, values: dict[str, Any]) -> Any:
        """The first row, read together with the other reads asked for in the same turn of the event loop:
        one connection and one round trip for all of them (psycopg's pipeline mode)."""
        read = self.compiled(stmt)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._send, loop)
        pending.append((read, read.parameters(values), future))
        return await future

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        task = loop.create_task(self._run(self._pending.pop(loop)))
        self._running.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            rows = await self._fetch(batch)
        except Exception as exc:  # noqa: BLE001 - handed to each waiting read below
            if len(batch) > 1:
                # Whatever failed, each read again on its own: one read's error (a value the server refuses,
                # say) fails only its own request; a database out of reach fails each of them alike.
                await asyncio.gather(*(self._run([waiting]) for waiting in batch))
            elif not batch[0][2].done():
                batch[0][2].set_exception(exc)
            return
        except BaseException:  # cancelled: the loop is shutting down
            for _, _, future in batch:
                future.cancel()
            raise
        for (_, _, future), row in zip(batch, rows):
            if not future.done():  # done: the request went away meanwhile
                future.set_result(row)

    async def _fetch(self, batch: list[_Waiting]) -> list[Any]:
        async with (await self.pool()).connection() as conn:
            if self.pooled:  # no prepared statements, no pipeline: each read a statement of its own
                return [read.row(await (await conn.execute(read.sql, params, prepare=False)).fetchone()) for read, params, _ in batch]
            if len(batch) == 1:
                read, params, _ = batch[0]
                return [read.row(await (await conn.execute(read.sql, params, prepare=True)).fetchone())]
            async with conn.pipeline():
                cursors = [await conn.execute(read.sql, params, prepare=True) for read, params, _ in batch]
            return [read.row(await cursor.fetchone()) for (read, _, _), cursor in zip(batch, cursors)]


def reads_for(engine: Engine) -> SyncReads | PoolReads:
    return PoolReads(engine) if engine.dialect.name == "postgresql" else SyncReads(engine)
