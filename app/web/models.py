"""What the web face keeps in the database, so that any worker can serve any request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.database.base import Base, UTCDateTime, utcnow

KEY_LENGTH = 128  # the store's namespace and the session id (64 characters)


class WebSession(Base):
    """Server-side session data, keyed by the id in the session cookie."""

    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)


class LoginFailure(Base):
    """A failed sign-in, counted per email and per client address to slow guessing down; counted
    before the password is checked, ``pending`` until that check has failed."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)
