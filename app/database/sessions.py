"""Request-scoped dependencies shared by every controller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import wraps
from typing import Any

from litestar import get
from litestar.handlers import HTTPRouteHandler
from sqlalchemy.orm import Session

from app.database.engine import get_engine, reads_only, session_factory


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


def read_view(path: str, view: Callable[..., Any], **options: Any) -> HTTPRouteHandler:
    """The GET handler of ``view``, a synchronous view that only reads through its ``session``.

    Where it runs is this layer's decision: on SQLite in place on the event loop (in-process reads in WAL
    mode never wait for a lock, and cost less than the hop to a worker thread and back); on PostgreSQL in a
    worker thread, its session declared read-only first (``reads_only``: autocommit, no BEGIN and ROLLBACK
    round trips)."""

    @wraps(view)
    def reading(*args: Any, **kwargs: Any) -> Any:
        reads_only(kwargs["session"])
        return view(*args, **kwargs)

    return get(path, sync_to_thread=get_engine().dialect.name != "sqlite", **options)(reading)
