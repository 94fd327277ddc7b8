"""Accounts (shops), their back-office users and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database.base import Base, UTCDateTime, utcnow


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    # Last account_scoped_id handed out; incremented under a row lock.
    customer_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Kept by the customer service in the same transaction as each change.
    customer_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    favourite_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Raised with every change to the account's customers or their addresses, in
    # the same transaction: what the API's remembered list responses are keyed on.
    customers_revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The number of the account's last customer event (customer_events.seq), raised under the row lock.
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Ids that sessions, tokens and grants refer to are never handed out again (a sequence on PostgreSQL).
    __table_args__ = ({"sqlite_autoincrement": True},)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # Unique within an account only: an admin learns nothing about other accounts' users.
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="admin")
    # Raised to end every session of the user at once (sign out everywhere, a new password or role):
    # a session holds the value it was issued with and is refused once they differ.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "email"), {"sqlite_autoincrement": True})


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    # SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_api_tokens_account_id", "account_id"), {"sqlite_autoincrement": True})

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
