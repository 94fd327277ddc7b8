"""Request-scoped dependencies shared by every controller."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.orm import Session

from app.database.engine import session_factory


async def provide_session() -> AsyncIterator[Session]:
    """One session per request; whatever it did not commit is rolled back.

    An async generator, so that closing it needs no thread hop (Litestar runs
    the cleanup of a sync generator in a worker thread). Handlers commit their
    writes, so closing hands the connection back to the pool, ending at most a
    read transaction (on PostgreSQL autocommit reads leave none)."""
    session = session_factory()()
    try:
        yield session
    finally:
        session.close()
