"""Single-row reads awaited on the event loop: the lookups every request starts with.

The app's persistence is synchronous SQLAlchemy, run in worker threads. The
lookups every request makes before its handler runs (an API call's token, a
page's session and signed-in user), though, cost less than a thread hop. So:

- On PostgreSQL it runs on psycopg's async connection pool (``psycopg_pool``),
  one pool per event loop (a worker has one), in autocommit. The statement is the same Core statement the synchronous path
  runs, compiled once by SQLAlchemy for the dialect, with SQLAlchemy's own
  parameter conversion, and prepared on the server at first use (a lookup by
  key, where a generic plan is the right one). The event loop never blocks on
  the network and no thread is involved.
- On SQLite it runs in place on the app's engine: an indexed read in WAL mode
  never waits for a lock and takes microseconds in-process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, Select

from app.db import read_connection


class CompiledRead:
    """A Core SELECT compiled for one dialect, with the converters of its parameters."""

    def __init__(self, stmt: Select, dialect: Any) -> None:
        compiled = self.compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.converters: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()
        }
        results = [column.type.result_processor(dialect, None) for column in stmt.selected_columns]
        self.results: list[Callable[[Any], Any] | None] | None = results if any(results) else None

    def row(self, row: Any) -> Any:
        """A fetched row with SQLAlchemy's conversions of its values (aware datetimes, say)."""
        if row is None or self.results is None:
            return row
        return row._make(convert(value) if convert else value for convert, value in zip(self.results, row))

    def parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every parameter of the statement (``values`` and the literals it holds), converted for the driver."""
        return {
            name: (convert(value) if (convert := self.converters.get(name)) else value)
            for name, value in self.compiled.construct_params(values).items()
        }


class SyncReads:
    """SQLite: the read runs in place on the app's engine."""

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def first(self, stmt: Select, values: dict[str, Any]) -> Any:
        with read_connection() as conn:
            return conn.execute(stmt, values).first()


class PoolReads:
    """PostgreSQL: psycopg's async pool; each statement compiled once and prepared on the server.

    A pool belongs to the event loop it was opened in; one app can be served
    from several loops at once (test clients do that), so each loop gets its
    own, opened at its first read and closed by the app's shutdown in that loop.
    """

    def __init__(self, engine: Engine, max_size: int = 4) -> None:
        self.dialect = engine.dialect
        self.max_size = max_size
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pools: WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = WeakKeyDictionary()
        self._opening: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()
        self._compiled: dict[Select, CompiledRead] = {}

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
                # min_size 0: nothing is connected before the first read, nor re-made in the background while
                # idle (an app that serves nothing, or whose database went away, does not keep trying).
                # timeout 2 s: a read waits at most that long for a connection, so with the database down a
                # request fails in 2 s instead of hanging (the pool retries connecting in the background).
                pool = AsyncConnectionPool(
                    self.conninfo, min_size=0, max_size=self.max_size, open=False, timeout=2, name="clientele-async-reads",
                    kwargs={"autocommit": True, "row_factory": namedtuple_row},
                )
                await pool.open(wait=False)
                self._pools[loop] = pool
        return pool

    def compiled(self, stmt: Select) -> CompiledRead:
        read = self._compiled.get(stmt)
        if read is None:
            read = self._compiled[stmt] = CompiledRead(stmt, self.dialect)
        return read

    async def first(self, stmt: Select, values: dict[str, Any]) -> Any:
        read = self.compiled(stmt)
        async with (await self.pool()).connection() as conn:
            cursor = await conn.execute(read.sql, read.parameters(values), prepare=True)
            return read.row(await cursor.fetchone())


def reads_for(engine: Engine) -> SyncReads | PoolReads:
    return PoolReads(engine) if engine.dialect.name == "postgresql" else SyncReads()
