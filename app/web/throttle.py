"""Slowing down password guessing: failures are counted in the database, per email and per address."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.base import utcnow
from app.db import begin_write
from app.web.models import LoginFailure

WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5


def _keys(email: str, address: str) -> list[str]:
    return [f"email:{email.strip().lower()[:254]}", f"ip:{address[:45]}"]


def blocked_for(session: Session, email: str, address: str) -> timedelta | None:
    """How long sign-in stays locked for this email or address, or None."""
    since = utcnow() - WINDOW
    for key in _keys(email, address):
        rows = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key, LoginFailure.at > since)
        ).one()
        limit = MAX_FAILURES if key.startswith("email:") else MAX_FAILURES * 4
        if rows[0] >= limit:
            return max(timedelta(seconds=1), rows[1] + WINDOW - utcnow())
    return None


def record_failure(session: Session, email: str, address: str) -> None:
    begin_write(session)
    now = utcnow()
    session.add_all(LoginFailure(key=key, at=now) for key in _keys(email, address))
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
    session.commit()


def clear(session: Session, email: str) -> None:
    begin_write(session)
    session.execute(delete(LoginFailure).where(LoginFailure.key == _keys(email, "")[0]))
    session.commit()
