"""Single-row reads awaited on the event loop: the lookup every API call starts with.

The app's persistence is synchronous SQLAlchemy, run in worker threads. The
token lookup, though, comes before everything else in every API call, and a
thread hop costs more than the lookup itself. So:

- On PostgreSQL it runs on psycopg's async connection pool (``psycopg_pool``),
  one pool per running app (opened at start-up, closed at shutdown), in
  autocommit. The statement is the same Core statement the synchronous path
  runs, compiled once by SQLAlchemy for the dialect, with SQLAlchemy's own
  parameter conversion, and prepared on the server at first use (a lookup by
  key, where a generic plan is the right one). The event loop never blocks on
  the network and no thread is involved.
- On SQLite it runs in place on the app's engine: an indexed read in WAL mode
  never waits for a lock and takes microseconds in-process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
        for column in stmt.selected_columns:
            if column.type.result_processor(dialect, None) is not None:
                raise ValueError(f"{column} needs result processing, which CompiledRead does not do")

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
    """PostgreSQL: psycopg's async pool; each statement compiled once and prepared on the server."""

    def __init__(self, engine: Engine, max_size: int = 4) -> None:
        self.dialect = engine.dialect
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.pool = AsyncConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=False, timeout=10, name="clientele-async-reads",
            kwargs={"autocommit": True, "row_factory": namedtuple_row},
        )
        self._compiled: dict[Select, CompiledRead] = {}

    async def open(self) -> None:
        await self.pool.open(wait=False)  # a database that is not up yet fails requests, not the start

    async def close(self) -> None:
        await self.pool.close()

    def compiled(self, stmt: Select) -> CompiledRead:
        read = self._compiled.get(stmt)
        if read is None:
            read = self._compiled[stmt] = CompiledRead(stmt, self.dialect)
        return read

    async def first(self, stmt: Select, values: dict[str, Any]) -> Any:
        read = self.compiled(stmt)
        async with self.pool.connection() as conn:
            cursor = await conn.execute(read.sql, read.parameters(values), prepare=True)
            return await cursor.fetchone()


def reads_for(engine: Engine) -> SyncReads | PoolReads:
    return PoolReads(engine) if engine.dialect.name == "postgresql" else SyncReads()
