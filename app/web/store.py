"""A Litestar store kept in the application's database (server-side sessions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from anyio import to_thread
from litestar.stores.base import NamespacedStore
from sqlalchemy import delete, select

from app.base import utcnow
from app.db import begin_write, session_scope
from app.web.models import WebSession


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
    """Values live in the ``web_sessions`` table; keys are prefixed by the namespace."""

    def __init__(self, namespace: str = "sessions") -> None:
        self.namespace = namespace

    def with_namespace(self, namespace: str) -> DatabaseStore:
        return DatabaseStore(f"{self.namespace}:{namespace}")

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    # sync implementations, run in a worker thread

    def _set(self, key: str, value: bytes, expires_in) -> None:
        expires_at = _expiry(expires_in)
        with session_scope() as session:
            row = session.get(WebSession, self._key(key))
            # Most requests hand back the session unchanged: skip the write unless
            # the data changed or the expiry would move by more than a minute.
            if row is not None and row.value == value and _close(row.expires_at, expires_at):
                return
        with session_scope() as session:
            begin_write(session)
            row = session.get(WebSession, self._key(key))
            if row is None:
                session.add(WebSession(key=self._key(key), value=value, expires_at=expires_at))
            else:
                row.value = value
                row.expires_at = expires_at

    def _get(self, key: str, renew_for) -> bytes | None:
        with session_scope() as session:
            row = session.get(WebSession, self._key(key))
            if row is None:
                return None
            expired = row.expires_at is not None and row.expires_at <= utcnow()
            if not expired and renew_for is None:
                return row.value
            value = row.value
        # Changing the row: in a write transaction, so that SQLite queues it.
        with session_scope() as session:
            begin_write(session)
            row = session.get(WebSession, self._key(key))
            if row is None:
                return None
            if expired:
                session.delete(row)
                return None
            if row.expires_at is not None:
                row.expires_at = _expiry(renew_for)
            return value

    def _delete(self, key: str) -> None:
        with session_scope() as session:
            begin_write(session)
            session.execute(delete(WebSession).where(WebSession.key == self._key(key)))

    def _delete_all(self) -> None:
        with session_scope() as session:
            begin_write(session)
            session.execute(delete(WebSession).where(WebSession.key.startswith(f"{self.namespace}:")))

    def _expires_in(self, key: str) -> int | None:
        with session_scope() as session:
            expires_at = session.scalar(select(WebSession.expires_at).where(WebSession.key == self._key(key)))
        if expires_at is None:
            return None
        return max(0, int((expires_at - datetime.now(timezone.utc)).total_seconds()))

    def purge_expired(self) -> int:
        with session_scope() as session:
            return session.execute(delete(WebSession).where(WebSession.expires_at < utcnow())).rowcount

    # the async interface Litestar calls

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        await to_thread.run_sync(self._set, key, data, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await to_thread.run_sync(self._get, key, renew_for)

    async def delete(self, key: str) -> None:
        await to_thread.run_sync(self._delete, key)

    async def delete_all(self) -> None:
        await to_thread.run_sync(self._delete_all)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await to_thread.run_sync(self._expires_in, key)
