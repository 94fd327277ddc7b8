"""Expired back-office sessions are removed by `clientele sessions purge`; live ones stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from app.database.base import utcnow
from app.database.engine import session_scope
from app.web.models import WebSession
from app.web.store import DatabaseStore


def test_purge_removes_expired_sessions_only():
    store = DatabaseStore(f"test-{uuid.uuid4().hex[:8]}")
    with session_scope() as session:
        session.add(WebSession(key=store._key("old"), value=b"{}", expires_at=utcnow() - timedelta(seconds=1)))
        session.add(WebSession(key=store._key("live"), value=b"{}", expires_at=utcnow() + timedelta(hours=1)))
    assert store.purge_expired() >= 1
    with session_scope() as session:
        keys = set(session.scalars(select(WebSession.key).where(WebSession.key.startswith(store.namespace + ":"))))
    assert keys == {store._key("live")}
