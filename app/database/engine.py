"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

from app.config import get_settings

if TYPE_CHECKING:
    import psycopg


def make_engine(url: str, timeouts: bool = True) -> Engine:
    """The engine for ``url``. With ``timeouts`` (the app's, not the migrations'), a statement waits for a
    lock at most CLIENTELE_LOCK_TIMEOUT seconds (PostgreSQL's lock_timeout, SQLite's busy timeout) and runs
    at most CLIENTELE_STATEMENT_TIMEOUT seconds (PostgreSQL); then it fails, and the request answers 503."""
    settings = get_settings()
    if url.startswith("sqlite"):
        busy_ms = round(settings.lock_timeout * 1000) if timeouts else 30_000
        # No limit on connections (an in-process SQLite connection costs a file handle): the read-only
        # views run on the event loop, and a checkout that waited there for a connection held by a
        # request whose session the loop has yet to close would wait for itself.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000}, pool_size=10, max_overflow=-1
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:  # pragma: no cover - trivial
            # Let SQLAlchemy, not the driver, issue BEGIN, so that writers can
            # take the write lock up front (BEGIN IMMEDIATE) and never deadlock
            # on a lock upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:  # pragma: no cover - trivial
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # No server-side prepared statements: a generic plan cannot see a search
    # pattern, and would read every row instead of using the trigram index.
    # No ping before each checkout (a round trip per connection use): a
    # connection the server dropped fails one request, and SQLAlchemy then
    # replaces the whole pool; connections are renewed hourly in any case.
    # At most POSTGRES_POOL connections a process for the handlers, so that two workers with their
    # session and event-loop pools stay well inside PostgreSQL's default of 100 connections; writes take
    # at most half of them (app/database/write_slots.py), so reads always find one. A checkout waits at most the
    # lock timeout, then the request answers 503.
    # Behind PgBouncer the pooler sets the timeouts (it passes no ``options``); a migration lifts them
    # for its own transaction.
    connect_args: dict[str, Any] = {"prepare_threshold": None}
    pool: dict[str, Any] = {}
    if timeouts:
        if not settings.pgbouncer:
            connect_args["options"] = postgres_timeouts(settings.lock_timeout, settings.statement_timeout)
        pool = {"max_overflow": POSTGRES_POOL - 10, "pool_timeout": settings.lock_timeout}
    engine = create_engine(url, **{"pool_size": 10, "max_overflow": 20, **pool}, pool_recycle=3600, connect_args=connect_args)
    if settings.pgbouncer and not timeouts:
        _set_in_each_transaction(engine, "SELECT set_config('lock_timeout', '0', true), set_config('statement_timeout', '0', true)")
    return engine


def _set_in_each_transaction(engine: Engine, statement: str) -> None:
    """Run ``statement`` (settings for the transaction only, ``set_config(..., true)``) at the start of every
    transaction of ``engine``: behind PgBouncer's transaction pooling, a setting for the connection would stay
    on a server connection that other clients use next."""

    @event.listens_for(engine, "begin")
    def _set(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql(statement)


POSTGRES_POOL = 20  # connections of a process's main pool on PostgreSQL (see make_engine)


def postgres_timeouts(lock_timeout: float, statement_timeout: float) -> str:
    """libpq's ``options`` that set a connection's lock and statement timeouts (seconds)."""
    return f"-c lock_timeout={round(lock_timeout * 1000)} -c statement_timeout={round(statement_timeout * 1000)}"


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


@lru_cache(maxsize=4)
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """The session factory of ``engine`` (the app's by default). One per engine:
    building a sessionmaker sets up its event dispatch, which costs more than a query."""
    return _sessionmaker(engine or get_engine())


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def begin_write(session: Session) -> None:
    """Start a write transaction in ``session``.

    A read transaction still open is ended first, so the write sees the latest
    data; on SQLite the write lock is taken at BEGIN (IMMEDIATE), so concurrent
    writers queue on the busy timeout instead of failing on a lock upgrade.
    """
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@contextmanager
def released_on_error(session: Session) -> Iterator[None]:
    """If the block raises, end ``session``'s transaction at once: a write lock (SQLite) or rows
    read for update (PostgreSQL) are not held while the error is answered, until the request ends."""
    try:
        yield
    except BaseException:
        session.rollback()
        raise


def reads_only(session: Session) -> None:
    """Declare that ``session`` only reads until its next write transaction: on
    PostgreSQL its statements then run in autocommit, each on its own snapshot,
    without the BEGIN and ROLLBACK round trips. ``begin_write`` starts a real
    transaction as before."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@contextmanager
def write_connection(engine: Engine | None = None) -> Iterator[Connection]:
    """A Core connection in a write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
    with (engine or get_engine()).connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        yield conn


# Every request reads its session and its user or token and counts itself
# against the rate limit: single statements. On PostgreSQL a transaction around
# each would cost a BEGIN and a COMMIT round trip more.


@contextmanager
def read_connection() -> Iterator[Connection]:
    """A connection for single read statements: autocommit on PostgreSQL."""
    engine = get_engine()
    options = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn:
        yield conn


@contextmanager
def ephemeral_write(wait: float | None = None) -> Iterator[Connection]:
    """A connection for single writes whose loss in a crash costs nothing (a
    rate-limit count, a sign-in session): on PostgreSQL autocommit, without
    waiting for the WAL flush; on SQLite a BEGIN IMMEDIATE transaction, which
    waits for the write lock ``wait`` seconds if given (else the lock timeout)."""
    ephemeral = ephemeral_engine()
    if ephemeral is not None:
        # Behind PgBouncer: one transaction whose first statement turns the WAL flush off for it.
        with ephemeral.begin() if get_settings().pgbouncer else ephemeral.connect() as conn:
            yield conn
        return
    if wait is None:
        with write_connection() as conn:
            yield conn
        return
    with get_engine().connect() as conn:
        driver: Any = conn.connection.driver_connection
        driver.execute(f"PRAGMA busy_timeout={round(wait * 1000)}").close()
        try:
            with conn.execution_options(sqlite_begin="IMMEDIATE").begin():
                yield conn
        finally:
            driver.execute(f"PRAGMA busy_timeout={round(get_settings().lock_timeout * 1000)}").close()


def ephemeral_engine() -> Engine | None:
    """The pool ``ephemeral_write`` uses on PostgreSQL (None on SQLite)."""
    engine = get_engine()
    return _ephemeral_engine_for(engine) if engine.dialect.name == "postgresql" else None


@lru_cache(maxsize=4)
def _ephemeral_engine_for(engine: Engine) -> Engine:
    settings = get_settings()
    if settings.pgbouncer:
        ephemeral = create_engine(
            engine.url, pool_size=5, max_overflow=5, pool_recycle=3600, pool_timeout=settings.lock_timeout,
            connect_args={"prepare_threshold": None},
        )
        _set_in_each_transaction(ephemeral, "SELECT set_config('synchronous_commit', 'off', true)")
        return ephemeral
    return create_engine(
        engine.url, pool_size=5, max_overflow=5, pool_recycle=3600, isolation_level="AUTOCOMMIT",
        pool_timeout=settings.lock_timeout,
        connect_args={
            "prepare_threshold": None,
            "options": f"-c synchronous_commit=off {postgres_timeouts(settings.lock_timeout, settings.statement_timeout)}",
        },
    )


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE touched (``Session.execute`` types its result as a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount


def upsert(dialect: str, table: Table, values: dict[str, Any], key: list[str], set_: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE SET set_, in the dialect's spelling;
    ``set_`` may refer to the proposed row through ``excluded``."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    resolved = {name: value(stmt.excluded) if callable(value) else value for name, value in set_.items()}
    return stmt.on_conflict_do_update(index_elements=[table.c[name] for name in key], set_=resolved)


def insert_rows(connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Many rows at once: COPY on PostgreSQL, executemany on SQLite."""
    if connection.dialect.name == "postgresql":
        driver = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif rows:
        placeholders = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)
