"""Request rate limits kept in the database, so that every worker and host counts together.

A fixed window per key (``api_token:7``, ``oauth_app:3``, ``user:12``): one row
per key, updated in place by a single INSERT … ON CONFLICT DO UPDATE …
RETURNING statement, which both SQLite (3.35+) and PostgreSQL run atomically.
That statement costs a request: on PostgreSQL one round trip in autocommit,
without waiting for the WAL flush; on SQLite a short write transaction. The
table holds one row per client and never grows with traffic.

Limits of 40 a window and more are counted in leases: a worker claims up to
1/20 of the limit in one statement and serves those requests from memory
until the window ends. The claims never add up to more than the limit, so no
client gets more than its limit across all workers; a lease a worker does not
use up is lost with its window, so a client spread over many workers may be
refused up to workers × limit/20 requests early. Lower limits (the API's
default, 20) are counted exactly, one statement per request.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from litestar.concurrency import sync_to_thread
from sqlalchemy import BigInteger, Integer, String, Table, bindparam, case
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import ReturningInsert

from app.database.base import Base
from app.database.engine import ephemeral_write, upsert
from app.shared.inputs import whole_number

# The original API's documented limit: 20 requests per second per client.
DEFAULT_LIMIT = 20
WINDOW_SECONDS = 1


class RateLimitCounter(Base):
    """Requests counted for one key in its current window."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the window ends (at least 1)


clock = time.time  # the time the windows follow (tests freeze it)


def limit_per_second() -> int:
    """``CLIENTELE_RATE_LIMIT`` requests per second (default 20); 0 turns limiting off."""
    limit = whole_number(os.environ.get("CLIENTELE_RATE_LIMIT", "").strip())
    return DEFAULT_LIMIT if limit is None else limit


@lru_cache(maxsize=2)
def _upsert(dialect: str) -> ReturningInsert[Any]:
    """Built once per dialect: adds ``n`` to the key's count in the current window."""
    table = cast(Table, RateLimitCounter.__table__)
    return upsert(
        dialect, table, {"key": bindparam("key"), "window": bindparam("window"), "count": bindparam("n")}, ["key"],
        {"count": lambda new: case((table.c.window == new.window, table.c.count + new.count), else_=new.count), "window": lambda new: new.window},
    ).returning(table.c.count)


LEASE_SHARE = 20  # a worker claims at most 1/LEASE_SHARE of a window's limit at a time


@dataclass
class _Lease:
    window: int
    left: int  # requests this worker may still serve in the window
    counted: int  # the key's count in the database once this lease was claimed


_leases: dict[str, _Lease] = {}
_leases_lock = threading.Lock()


def _window(now: float) -> tuple[int, int]:
    """The window ``now`` falls in, and the whole seconds until it ends (at least 1)."""
    window = int(now // WINDOW_SECONDS)
    return window, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def _from_lease(key: str, window: int) -> int | None:
    """Serve one request from this worker's lease: the count it reaches, or None without a lease."""
    with _leases_lock:
        lease = _leases.get(key)
        if lease is None or lease.window != window or lease.left <= 0:
            return None
        lease.left -= 1
        return lease.counted - lease.left


def hit(key: str, limit: int | None = None, now: float | None = None) -> Verdict:
    """Count one request for ``key``; whether it is within ``limit`` requests per window."""
    limit = limit_per_second() if limit is None else limit
    now = clock() if now is None else now
    verdict = from_lease(key, limit, now)
    if verdict is not None:
        return verdict
    window, retry_after = _window(now)
    key = key[:200]
    size = max(1, limit // LEASE_SHARE)
    try:
        with ephemeral_write(wait=COUNT_WAIT) as conn:  # a count lost to a crash costs nothing
            count = conn.execute(_upsert(conn.dialect.name), {"key": key, "window": window, "n": size}).scalar_one()
    except SQLAlchemyError as exc:
        _uncounted(key, exc)
        return Verdict(True, 0, limit, retry_after)
    before = count - size
    granted = min(size, limit - before)
    if granted <= 0:
        return Verdict(False, count, limit, retry_after)
    if granted > 1:
        with _leases_lock:
            _leases[key] = _Lease(window, granted - 1, before + granted)
    return Verdict(True, before + 1, limit, retry_after)


# Seconds a count waits for SQLite's write lock. A count that cannot be made in that time (another
# process holds the lock) or at all (a read-only database) lets the request through: a read never
# waits for a write lock, and what the request itself needs from the database decides its answer.
COUNT_WAIT = 0.1
LOG_EVERY = 60.0  # seconds between two log lines about uncounted requests

_log = logging.getLogger("clientele")
_uncounted_state = {"since": 0, "logged": -LOG_EVERY}


def _uncounted(key: str, exc: SQLAlchemyError) -> None:
    """Log a request let through uncounted: the first one, then at most one line a minute with how many since."""
    now = time.monotonic()
    with _leases_lock:
        _uncounted_state["since"] += 1
        if now - _uncounted_state["logged"] < LOG_EVERY:
            return
        since, _uncounted_state["since"], _uncounted_state["logged"] = _uncounted_state["since"], 0, now
    _log.warning("rate limit not counted for %s (%d request(s) let through uncounted): %s", key, since, str(exc).splitlines()[0])


def from_lease(key: str, limit: int | None = None, now: float | None = None) -> Verdict | None:
    """The verdict for one request that this worker's lease (or a disabled limit)
    answers without the database; None when ``hit`` has to count it there."""
    limit = limit_per_second() if limit is None else limit
    if limit <= 0:
        return Verdict(True, 0, 0, 0)
    window, retry_after = _window(clock() if now is None else now)
    served = _from_lease(key[:200], window)
    return None if served is None else Verdict(True, served, limit, retry_after)


async def hit_from_loop(key: str) -> Verdict:
    """``hit`` for code on the event loop: this worker's lease answers in place; counting in
    the database (a write, which may wait for SQLite's write lock) runs in a worker thread."""
    leased = from_lease(key)
    return leased if leased is not None else await sync_to_thread(hit, key)
