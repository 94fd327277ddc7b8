"""The database session store: a session handed back unchanged costs no write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from app.database.async_reads import reads_for
from app.database.base import utcnow
from app.database.engine import ephemeral_engine, ephemeral_write, get_engine, read_connection
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


def test_a_session_handed_back_is_updated_never_created_again() -> None:
    """What the session middleware writes back for a session it read: an UPDATE, so a session
    deleted meanwhile (signed out by another request) stays deleted."""
    store = DatabaseStore(f"test-{uuid.uuid4().hex[:8]}")

    async def scenario() -> None:
        await store.insert("k", b'{"user_id":1}', HOUR)
        assert await store.get("k") == b'{"user_id":1}'
        await store.delete("k")  # signed out meanwhile
        assert await store.update("k", b'{"user_id":1,"flash":[]}', HOUR) is False
        assert stored(store, "k") is None
        assert await store.update("k", b'{"user_id":1}', HOUR) is False  # unchanged and unread: still looked up
        assert stored(store, "k") is None

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


@pytest.mark.parametrize("on_loop", [False, True], ids=["read in a thread", "read on the event loop"])
def test_an_expired_session_is_gone_and_a_renewed_one_moves_its_expiry(on_loop: bool) -> None:
    """Both ways the store reads (without and with the app's reads on the event loop) settle a
    row alike: an expired one is deleted and not returned, a renewal writes the new expiry."""
    store = DatabaseStore(f"test-{uuid.uuid4().hex[:8]}")

    async def scenario() -> None:
        if on_loop:
            store.reads = reads_for(get_engine())
            await store.reads.open()
        try:
            await store.set("old", b"{}", HOUR)
            with ephemeral_write() as conn:
                conn.execute(update(WebSession).where(WebSession.key == store._key("old")).values(expires_at=utcnow() - timedelta(seconds=1)))
            assert await store.get("old") is None
            assert stored(store, "old") is None

            await store.set("k", b'{"user_id":1}', HOUR)
            assert await store.get("k", renew_for=2 * HOUR) == b'{"user_id":1}'
            with read_connection() as conn:
                expires_at = conn.scalar(select(WebSession.expires_at).where(WebSession.key == store._key("k")))
            assert expires_at > utcnow() + timedelta(seconds=HOUR + 60)
        finally:
            if on_loop:
                await store.reads.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def test_anonymous_requests_leave_no_session_behind() -> None:
    """The sign-in form and a redirect to it neither write a session row nor set a session
    cookie; signing in does both, and signing out removes the row."""
    import re

    from litestar.testing import TestClient

    from app.accounts import service as accounts
    from app.database.engine import session_scope
    from app.main import create_app

    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        account, _ = accounts.ensure_account(session, f"Shop {uuid.uuid4().hex[:8]}")
        accounts.create_user(session, account.id, email, "correct horse battery")

    def row(session_id: str) -> bytes | None:
        with read_connection() as conn:
            return conn.scalar(select(WebSession.value).where(WebSession.key == f"sessions:{session_id}"))

    with TestClient(create_app()) as client, session_writes() as writes:
        form = client.get("/login")
        bounced = client.get("/customers", follow_redirects=False)
        assert form.status_code == 200 and bounced.status_code == 303
        assert "clientele_session" not in client.cookies
        assert writes == []  # no row written, in this process's pools

        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
        signed_in = client.post("/login", data={"email": email, "password": "correct horse battery", "_csrf_token": token},
                                follow_redirects=False)
        assert signed_in.status_code == 303 and "clientele_session" in client.cookies
        session_id = client.cookies["clientele_session"]
        assert row(session_id) is not None
        writes.clear()
        assert client.get("/customers").status_code == 200
        assert client.get("/customers?q=x").status_code == 200
        assert writes == []  # a signed-in page with its session unchanged: read, not written

        client.post("/logout", headers={"x-csrftoken": token}, follow_redirects=False)
        assert row(session_id) is None
