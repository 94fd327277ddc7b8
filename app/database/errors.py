"""What a database error means for the user: out of reach or busy for now, read-only, or a refused value."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from litestar import Request
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as QueuePoolTimeout

from app.database.write_slots import WritesBusy

logger = logging.getLogger("clientele")

# The database refused a value the checks let through (a safety net; the forms should catch these).
DATA_ERROR = "A value could not be stored: the database refuses its characters or its size."


# The database cannot be reached or is busy for now: answered 503, with this many seconds in Retry-After.
RETRY_AFTER_UNAVAILABLE = 5
UNAVAILABLE = "The database cannot be reached right now. Please try again in a few seconds."
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database file")
# The database reads but takes no writes (a read-only file or standby, a full disk): a change answers 503 too.
READ_ONLY = "The database takes no changes right now (it is read-only or its disk is full): nothing was saved. Reading still works."
_SQLITE_READ_ONLY = (8, 13)  # SQLITE_READONLY, SQLITE_FULL (primary result codes)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach or too busy for now (a retry may succeed),
    rather than that the request or the code is wrong."""
    if isinstance(exc, (PoolTimeout, QueuePoolTimeout, WritesBusy)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig or exc
    if isinstance(exc, psycopg.OperationalError):  # connection lost or refused, statement or lock timeout
        return True
    return isinstance(exc, sqlite3.OperationalError) and str(exc).startswith(_SQLITE_TRANSIENT)


def database_read_only(exc: BaseException) -> bool:
    """Whether ``exc`` says that the database takes no writes for now (a read-only file or a full disk on
    SQLite; a read-only transaction, as on a standby or with default_transaction_read_only, on PostgreSQL)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.errors.ReadOnlySqlTransaction):  # SQLSTATE 25006
        return True
    return isinstance(orig, sqlite3.Error) and (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_READ_ONLY


def unavailable_detail(exc: BaseException) -> str | None:
    """What to tell the user when ``exc`` is the database's for now (answered 503 with Retry-After); None otherwise."""
    if database_read_only(exc):
        return READ_ONLY
    return UNAVAILABLE if database_unavailable(exc) else None


def log_unavailable(request: Request[Any, Any, Any], exc: BaseException) -> None:
    logger.error("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
