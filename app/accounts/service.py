"""Accounts and back-office users: creation, lookup and password checks."""

from __future__ import annotations

from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import Account, User
from app.database.engine import begin_write

MIN_PASSWORD_LENGTH = 10
ROLES = ("admin", "staff")
_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash("not a real password, only spends the time of a check")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    return _hasher.hash(password)


def get_account(session: Session, name: str) -> Account | None:
    return session.scalar(select(Account).where(Account.name == name))


def ensure_account(session: Session, name: str, timezone: str = "Europe/Berlin") -> tuple[Account, bool]:
    """The account of that name, created if missing; and whether it was created."""
    name = name.strip()
    if not name:
        raise ValueError("The account name cannot be empty.")
    begin_write(session)
    account = get_account(session, name)
    if account is not None:
        return account, False
    account = Account(name=name, timezone=timezone, customer_seq=0)
    session.add(account)
    session.commit()
    return account, True


def create_user(session: Session, account_id: int, email: str, password: str, role: str = "admin", name: str = "") -> User:
    email = email.strip().lower()
    if role not in ROLES:
        raise ValueError(f"The role must be one of {', '.join(ROLES)}.")
    password_hash = hash_password(password)  # slow on purpose: before taking the write lock
    begin_write(session)
    if email_taken(session, account_id, email):
        raise ValueError(f"A user with the email {email} exists already.")
    user = User(account_id=account_id, email=email, name=name, password_hash=password_hash, role=role)
    session.add(user)
    session.commit()
    return user


def email_taken(session: Session, account_id: int, email: str, other_than: int | None = None) -> bool:
    """Whether the account has a user with that email (besides ``other_than``). Emails are unique per
    account only, so that this tells an admin nothing about the users of other accounts."""
    stmt = select(User.id).where(User.account_id == account_id, User.email == email.strip().lower())
    if other_than is not None:
        stmt = stmt.where(User.id != other_than)
    return session.scalar(stmt.limit(1)) is not None


def end_sessions(session: Session, user_id: int) -> None:
    """End every session of the user at once (each holds the epoch it was issued with)."""
    begin_write(session)
    session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))
    session.commit()


def _matching(users: Sequence[User | None], password: str) -> User | None:
    """The first of ``users`` whose password this is; one argon2 check per user, and one for none."""
    for user in users or [None]:
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            continue
        return user
    return None


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user if the password matches; None otherwise, in about the same time either way.

    One email may belong to users of several accounts (each account's admins choose their users'
    emails): the password decides which, the oldest user first if it is the same in several."""
    users = list(session.scalars(select(User).where(User.email == email.strip().lower()).order_by(User.id)))
    user = _matching(users, password)
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        new_hash = _hasher.hash(password)
        user_id = user.id
        begin_write(session)
        stored = session.get(User, user_id)
        if stored is not None:  # deleted meanwhile: nothing to rehash
            stored.password_hash = new_hash
        session.commit()
    return user
