"""The database session store: a session handed back unchanged costs no write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import event, select

from app.db import ephemeral_engine, get_engine, read_connection
from app.web.models import WebSession
from app.web.store import DatabaseStore

HOUR = 3600


@contextmanager
def session_writes() -> Iterator[list[str]]:
    """Statements that change web_sessions, on every pool the store writes through."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "web_sessions" in statement and not statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engines = [e for e in (get_engine(), ephemeral_engine()) if e is not None]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def stored(store: DatabaseStore, key: str) -> bytes | None:
    with read_connection() as conn:
        return conn.scalar(select(WebSession.value).where(WebSession.key == store._key(key)))


def test_an_unchanged_session_is_not_written_back() -> None:
    store = DatabaseStore(f"test-{uuid.uuid4().hex[:8]}")

    async def scenario() -> None:
        with session_writes() as writes:
            await store.set("k", b'{"user_id":1}', HOUR)
        assert len(writes) == 1 and stored(store, "k") == b'{"user_id":1}'

        # A request: read at the start, handed back unchanged at the end.
        assert await store.get("k") == b'{"user_id":1}'
        with session_writes() as writes:
            await store.set("k", b'{"user_id":1}', HOUR)
        assert writes == []

        # Changed data is written.
        assert await store.get("k") == b'{"user_id":1}'
        with session_writes() as writes:
            await store.set("k", b'{"user_id":1,"flash":[]}', HOUR)
        assert len(writes) == 1 and stored(store, "k") == b'{"user_id":1,"flash":[]}'

        # Without a read first (nothing to compare with), the value is written.
        with session_writes() as writes:
            await store.set("k", b'{"user_id":1,"flash":[]}', HOUR)
        assert len(writes) == 1

        # An expiry that would move by more than a minute is written.
        assert await store.get("k") is not None
        with session_writes() as writes:
            await store.set("k", b'{"user_id":1,"flash":[]}', 2 * HOUR)
        assert len(writes) == 1

        await store.delete("k")
        assert stored(store, "k") is None

    # In a thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()
