"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # Let SQLAlchemy, not the driver, issue BEGIN, so that writers can
            # take the write lock up front (BEGIN IMMEDIATE) and never deadlock
            # on a lock upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # No server-side prepared statements: a generic plan cannot see a search
    # pattern, and would read every row instead of using the trigram index.
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args={"prepare_threshold": None}
    )


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
def write_connection(engine: Engine | None = None) -> Iterator[Connection]:
    """A Core connection in a write transaction (BEGIN IMMEDIATE on SQLite), committed on success."""
    with (engine or get_engine()).connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        yield conn


def upsert(dialect: str, table: Table, values: dict, key: list[str], set_: dict) -> Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE SET set_, in the dialect's spelling;
    ``set_`` may refer to the proposed row through ``excluded``."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    resolved = {name: value(stmt.excluded) if callable(value) else value for name, value in set_.items()}
    return stmt.on_conflict_do_update(index_elements=[table.c[name] for name in key], set_=resolved)
