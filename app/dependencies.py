"""Request-scoped dependencies shared by every controller."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.db import session_factory


def provide_session() -> Iterator[Session]:
    """One session per request; whatever it did not commit is rolled back."""
    session = session_factory()()
    try:
        yield session
    finally:
        session.close()
