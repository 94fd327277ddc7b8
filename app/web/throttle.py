"""Slowing down password guessing: failures are counted in the database, per email and per address."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.base import utcnow
from app.db import begin_write
from app.web.models import LoginFailure

WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5


def _keys(email: str, address: str) -> list[str]:
    return [f"email:{email.strip().lower()[:254]}", f"ip:{address[:45]}"]


def attempt(session: Session, email: str, address: str) -> list[int] | timedelta:
    """Count a sign-in attempt, before its password is checked, in the same write transaction that
    checks the lock: the ids of the failures it was counted as, or how long sign-in stays locked
    for this email or address (then nothing is counted).

    Concurrent attempts take this step one at a time (SQLite's write lock; on PostgreSQL an advisory
    lock per key, taken in one order), so they can never check more passwords than the limits.
    A successful attempt takes its count back (``succeeded``).
    """
    keys = _keys(email, address)
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        for key in keys:  # always email, then address: two attempts never wait for each other in a cycle
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    now = utcnow()
    for key, limit in zip(keys, (MAX_FAILURES, MAX_FAILURES * 4)):
        count, first = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(LoginFailure.key == key, LoginFailure.at > now - WINDOW)
        ).one()
        if count >= limit:
            session.rollback()
            return max(timedelta(seconds=1), first + WINDOW - now)
    failures = [LoginFailure(key=key, at=now) for key in keys]
    session.add_all(failures)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
    session.commit()
    return [failure.id for failure in failures]


def succeeded(session: Session, email: str, counted: list[int]) -> None:
    """A successful sign-in clears the email's failures and takes back its own count for the address."""
    begin_write(session)
    session.execute(delete(LoginFailure).where(or_(LoginFailure.key == _keys(email, "")[0], LoginFailure.id.in_(counted))))
    session.commit()
