"""A Litestar store kept in the application's database (server-side sessions)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from anyio import to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import NamespacedStore
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items
from sqlalchemy import Row, Table, bindparam, delete, insert, select, update

from app.database.async_reads import PoolReads, SyncReads
from app.database.base import utcnow
from app.database.engine import ephemeral_write, read_connection, upsert
from app.web.models import KEY_LENGTH, WebSession

TABLE = cast(Table, WebSession.__table__)
MEMO_SIZE = 10_000
# Built once: every back-office request runs it.
_READ = select(TABLE.c.value, TABLE.c.expires_at).where(TABLE.c.key == bindparam("key"))


def _close(a: datetime | None, b: datetime | None, slack: timedelta = timedelta(minutes=1)) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= slack


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return utcnow() + timedelta(seconds=seconds)


class DatabaseStore(NamespacedStore):
    """Values live in the ``web_sessions`` table; keys are prefixed by the namespace.

    Litestar reads a session at the start of a request and hands it back at the
    end, mostly unchanged. What was read is remembered until that hand-back, so
    an unchanged session costs one read and no write; the memo only ever saves
    a write that would change nothing (the database stays the one source).
    Writes do not wait for PostgreSQL's WAL flush: a crash of the database
    server can lose the last second of sign-ins, which then sign in again.
    """

    def __init__(self, namespace: str = "sessions", reads: SyncReads | PoolReads | None = None) -> None:
        self.namespace = namespace
        self._read: dict[str, tuple[bytes, datetime | None]] = {}
        # The running app's reads on the event loop (set at start-up); without them, reads run in a thread.
        self.reads = reads

    def with_namespace(self, namespace: str) -> DatabaseStore:
        return DatabaseStore(f"{self.namespace}:{namespace}", self.reads)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    # sync implementations, run in a worker thread

    def _unchanged(self, key: str, value: bytes, expires_in: int | timedelta | None) -> bool:
        """Whether writing would change nothing: the data as read, the expiry moved by at most a minute."""
        seen = self._read.pop(self._key(key), None)
        return seen is not None and seen[0] == value and _close(seen[1], _expiry(expires_in))

    def _set(self, key: str, value: bytes, expires_in: int | timedelta | None) -> None:
        key = self._key(key)
        expires_at = _expiry(expires_in)
        with ephemeral_write() as conn:
            conn.execute(
                upsert(conn.dialect.name, TABLE, {"key": key, "value": value, "expires_at": expires_at}, ["key"],
                       {"value": lambda new: new.value, "expires_at": lambda new: new.expires_at})
            )

    def _insert(self, key: str, value: bytes, expires_in: int | timedelta | None) -> None:
        with ephemeral_write() as conn:
            conn.execute(insert(TABLE).values(key=self._key(key), value=value, expires_at=_expiry(expires_in)))

    def _update(self, key: str, value: bytes, expires_in: int | timedelta | None) -> bool:
        with ephemeral_write() as conn:
            changed = conn.execute(
                update(TABLE).where(TABLE.c.key == self._key(key)).values(value=value, expires_at=_expiry(expires_in))
            )
            return changed.rowcount > 0

    def _row(self, full_key: str) -> Row[Any, Any] | None:
        with read_connection() as conn:
            return conn.execute(_READ, {"key": full_key}).first()

    def _as_read(self, key: str, row: Sequence[Any], renew_for: int | timedelta | None) -> bool:
        """Whether the row read is the answer as it is (neither expired nor to be renewed); remembers it then."""
        value: bytes
        expires_at: datetime | None
        value, expires_at = row
        if renew_for is not None or (expires_at is not None and expires_at <= utcnow()):
            return False
        if len(self._read) >= MEMO_SIZE:
            self._read.clear()
        self._read[key] = (value, expires_at)
        return True

    def _renew_or_expire(self, key: str, row: Sequence[Any], renew_for: int | timedelta | None) -> bytes | None:
        """The value of a row ``_as_read`` did not take: deleted if expired, its expiry moved if asked to."""
        value: bytes
        expires_at: datetime | None
        value, expires_at = row
        with ephemeral_write() as conn:
            if expires_at is not None and expires_at <= utcnow():
                conn.execute(delete(TABLE).where(TABLE.c.key == key, TABLE.c.expires_at <= utcnow()))
                return None
            if expires_at is not None:
                conn.execute(update(TABLE).where(TABLE.c.key == key).values(expires_at=_expiry(renew_for)))
        return value

    def _delete(self, key: str) -> None:
        self._read.pop(self._key(key), None)
        with ephemeral_write() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.key == self._key(key)))

    def _delete_all(self) -> None:
        self._read.clear()
        with ephemeral_write() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.key.startswith(f"{self.namespace}:", autoescape=True)))

    def _expires_in(self, key: str) -> int | None:
        with read_connection() as conn:
            expires_at = conn.scalar(select(TABLE.c.expires_at).where(TABLE.c.key == self._key(key)))
        if expires_at is None:
            return None
        return max(0, int((expires_at - datetime.now(UTC)).total_seconds()))

    def purge_expired(self) -> int:
        with ephemeral_write() as conn:
            return conn.execute(delete(TABLE).where(TABLE.c.expires_at < utcnow())).rowcount

    # the async interface Litestar calls

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        if not self._unchanged(key, data, expires_in):  # most requests: no write, no thread
            await to_thread.run_sync(self._set, key, data, expires_in)

    async def insert(self, key: str, value: bytes, expires_in: int | timedelta | None = None) -> None:
        """A new session: its id was just made, so no row can hold it yet."""
        await to_thread.run_sync(self._insert, key, value, expires_in)

    async def update(self, key: str, value: bytes, expires_in: int | timedelta | None = None) -> bool:
        """A session read at the start of the request, handed back: written only if it changed, and
        only as an UPDATE, so that a session ended meanwhile (signed out, on another request) stays
        ended. Whether the session still exists (an unchanged one: as read)."""
        if self._unchanged(key, value, expires_in):  # most requests: no write, no thread
            return True
        return await to_thread.run_sync(self._update, key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        # The read on the event loop (app/database/async_reads.py), or in a thread outside a running app;
        # a write, if the session expired or is renewed, in a thread.
        full = self._key(key)
        if len(full) > KEY_LENGTH:
            return None
        if self.reads is None:
            row = await to_thread.run_sync(self._row, full)
        else:
            row = await self.reads.first(_READ, {"key": full})
        if row is None or self._as_read(full, row, renew_for):
            return None if row is None else row[0]
        return await to_thread.run_sync(self._renew_or_expire, full, row, renew_for)

    async def delete(self, key: str) -> None:
        await to_thread.run_sync(self._delete, key)

    async def delete_all(self) -> None:
        await to_thread.run_sync(self._delete_all)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await to_thread.run_sync(self._expires_in, key)


SESSION_ID_BYTES = 32
_ISSUED = re.compile(f"[0-9a-f]{{{2 * SESSION_ID_BYTES}}}")  # what generate_session_id makes
NEW_ID = "_new_id"
_LOADED = "session_loaded"  # the id of the session read at the start of the request (connection state)


def ask_new_id(session: dict[str, Any]) -> None:
    """Hand ``session`` back under a new id at the end of this request; the old id ends. For a change
    of what the session may do (a new password, a new role), as a sign-in does."""
    session[NEW_ID] = True


class SessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, with these differences:

    - Only an id this server issued is ever used: a cookie value that is not of the form
      ``generate_session_id`` makes (any length, any character) is not even looked up, and one
      that names no stored session is not adopted. Such a visitor is anonymous, and a session
      started for them gets a new id.
    - A new id at every sign-in (``Request.clear_session`` then ``set_session``) and when a
      handler asks for one (``ask_new_id``); the old row is deleted.
    - A session read at the start of a request is handed back with an UPDATE only (and not at
      all if unchanged): a request in flight while its session ends (sign out) cannot bring
      it back.
    - A visitor with no session who leaves none (an anonymous page view: the sign-in form, a
      redirect to it) gets neither a row nor a cookie. Litestar would store an empty session
      for every such request.
    """

    def _cookie_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        value = connection.cookies.get(self.config.key)
        return value if value and _ISSUED.fullmatch(value) else None

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session_id = self._cookie_id(connection)
        if session_id is not None:
            data = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
            if data is not None:
                connection.state[_LOADED] = session_id
                return self.deserialize_data(data)
        return {}

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The id of the session read at the start of the request, or Empty (kept in the connection
        state, where ``Request.clear_session`` empties it): never a cookie's value as such."""
        loaded: str = connection.state.get(_LOADED, Empty)  # Litestar's signature says str; Empty is its "none"
        return loaded

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        loaded: str | None = connection.state.get(_LOADED)
        current = connection.get_session_id()  # the loaded id, or None once cleared (sign-in, sign-out)
        expires_in = int(self.config.max_age)

        if scope_session is Empty or not scope_session:
            if loaded is not None:
                await self.delete(loaded, store=store)
            if self.config.key in connection.cookies:
                headers.add("Set-Cookie", self._cookie("", ended=True))
            return
        new_id = isinstance(scope_session, dict) and bool(scope_session.pop(NEW_ID, False))
        data = self.serialize_data(scope_session, connection.scope)
        if current is not None and not new_id:
            kept = await store.update(current, data, expires_in=expires_in)  # type: ignore[attr-defined]
            headers.add("Set-Cookie", self._cookie(current) if kept else self._cookie("", ended=True))
            return
        if loaded is not None:
            await self.delete(loaded, store=store)
        session_id = self.generate_session_id()
        await store.insert(session_id, data, expires_in=expires_in)  # type: ignore[attr-defined]
        headers.add("Set-Cookie", self._cookie(session_id))

    def _cookie(self, value: str, ended: bool = False) -> str:
        """The session cookie of ``value``; ``ended``: emptied and expired, with ``Max-Age=0`` (which
        browsers obey before ``expires``) and an ``expires`` in the past."""
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        if ended:
            params["max_age"] = 0
        cookie = Cookie(value="" if ended else value, key=self.config.key, **params).simple_cookie
        if ended:
            cookie[self.config.key]["expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return cookie.output(header="").strip()


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = SessionBackend
    session_id_bytes: int = SESSION_ID_BYTES
