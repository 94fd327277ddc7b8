"""Request rate limits kept in the database, so that every worker and host counts together.

A fixed window per key (``api_token:7``, ``oauth_app:3``, ``user:12``): one row
per key, updated in place by a single INSERT … ON CONFLICT DO UPDATE …
RETURNING statement, which both SQLite (3.35+) and PostgreSQL run atomically.
A request costs that one statement: on PostgreSQL one round trip in
autocommit, without waiting for the WAL flush; on SQLite a short write
transaction. The table holds one row per client and never grows with traffic.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import BigInteger, Integer, String, bindparam, case
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.db import ephemeral_write, upsert

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
    raw = os.environ.get("CLIENTELE_RATE_LIMIT", "")
    return int(raw) if raw.strip().isdecimal() else DEFAULT_LIMIT


@lru_cache(maxsize=2)
def _upsert(dialect: str):
    """Built once per dialect: every request runs it."""
    table = RateLimitCounter.__table__
    return upsert(
        dialect, table, {"key": bindparam("key"), "window": bindparam("window"), "count": 1}, ["key"],
        {"count": lambda new: case((table.c.window == new.window, table.c.count + 1), else_=1), "window": lambda new: new.window},
    ).returning(table.c.count)


def hit(key: str, limit: int | None = None, now: float | None = None) -> Verdict:
    """Count one request for ``key``; whether it is within ``limit`` requests per window."""
    limit = limit_per_second() if limit is None else limit
    if limit <= 0:
        return Verdict(True, 0, 0, 0)
    now = clock() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = key[:200]
    with ephemeral_write() as conn:  # a count lost to a crash costs nothing
        count = conn.execute(_upsert(conn.dialect.name), {"key": key, "window": window}).scalar_one()
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    return Verdict(count <= limit, count, limit, retry_after)
