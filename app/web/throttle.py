"""Slowing down password guessing: failures are counted in the database, per email and per address."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.database.base import utcnow
from app.database.engine import begin_write
from app.web.models import LoginFailure

WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5
# An attempt waits at most this long for others being checked to settle; an attempt still pending
# after PENDING_AT_MOST (its request died between count and check) counts as a failure.
WAIT_FOR_PENDING = 10.0
PENDING_AT_MOST = timedelta(seconds=30)


def _keys(email: str, address: str) -> list[str]:
    return [f"email:{email.strip().lower()[:254]}", f"ip:{address[:45]}"]


def attempt(session: Session, email: str, address: str) -> list[int] | timedelta:
    """Count a sign-in attempt, before its password is checked, in the same write transaction that
    checks the lock: the ids of the failures it was counted as (pending until ``failed`` or
    ``succeeded`` settles them), or how long sign-in stays locked for this email or address (then
    nothing is counted).

    Concurrent attempts take this step one at a time (SQLite's write lock; on PostgreSQL an advisory
    lock per key, taken in one order), so they can never check more passwords than the limits.
    When the limit is reached only because attempts are still being checked, this waits for them
    (a correct password takes its count back): people signing in at once are not locked out.
    """
    keys = _keys(email, address)
    deadline = time.monotonic() + WAIT_FOR_PENDING
    while True:
        outcome = _count(session, keys)
        if outcome is not None:
            return outcome
        if time.monotonic() > deadline:
            return WINDOW
        time.sleep(0.05)


def _count(session: Session, keys: list[str]) -> list[int] | timedelta | None:
    """``attempt``'s one step; None: the limit is reached with attempts still being checked."""
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        for key in keys:  # always email, then address: two attempts never wait for each other in a cycle
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    now = utcnow()
    for key, limit in zip(keys, (MAX_FAILURES, MAX_FAILURES * 4)):
        count, first, checking = session.execute(
            select(
                func.count(),
                func.min(LoginFailure.at),
                func.count().filter(LoginFailure.pending, LoginFailure.at > now - PENDING_AT_MOST),
            ).where(LoginFailure.key == key, LoginFailure.at > now - WINDOW)
        ).one()
        if count >= limit:
            session.rollback()
            return None if checking else max(timedelta(seconds=1), first + WINDOW - now)
    failures = [LoginFailure(key=key, at=now, pending=True) for key in keys]
    session.add_all(failures)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
    session.commit()
    return [failure.id for failure in failures]


def failed(session: Session, counted: list[int]) -> None:
    """The password was wrong: the attempt's count stays, settled."""
    begin_write(session)
    session.execute(update(LoginFailure).where(LoginFailure.id.in_(counted)).values(pending=False))
    session.commit()


def succeeded(session: Session, email: str, counted: list[int]) -> None:
    """A successful sign-in takes back its own count for the email and the address (the attempts
    still being checked keep theirs), and clears the email's failures only if the email is one
    user's: an email may belong to users of several accounts, and one of them signing in says
    nothing of the guesses at another's password (else anyone could reset the lock on an email
    by adding it to their own account)."""
    key = _keys(email, "")[0]
    begin_write(session)
    cleared: ColumnElement[bool] = LoginFailure.id.in_(counted)
    if session.scalar(select(func.count()).select_from(User).where(User.email == key.removeprefix("email:"))) == 1:
        cleared = or_(cleared, and_(LoginFailure.key == key, LoginFailure.pending.is_(False)))
    session.execute(delete(LoginFailure).where(cleared))
    session.commit()
