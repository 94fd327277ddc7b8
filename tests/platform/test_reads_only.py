"""A session that only reads skips PostgreSQL's BEGIN/ROLLBACK round trips; a write after it is still one transaction."""

from __future__ import annotations

import os

from sqlalchemy import select, update

from app.accounts.models import Account
from app.database.engine import begin_write, reads_only, session_factory, session_scope

ON_POSTGRESQL = os.environ["DATABASE_URL"].startswith("postgresql")


def _autocommit(session) -> bool:
    """Whether the driver connection runs each statement on its own (psycopg's flag; sqlite3 has none here)."""
    return bool(getattr(session.connection().connection.dbapi_connection, "autocommit", False))


def test_reads_run_in_autocommit_on_postgresql(shop) -> None:
    with session_factory()() as session:
        reads_only(session)
        assert session.scalar(select(Account.timezone).where(Account.id == shop.id)) == "Europe/Berlin"
        assert _autocommit(session) == ON_POSTGRESQL


def test_a_write_after_reading_is_still_a_transaction(shop) -> None:
    with session_factory()() as session:
        reads_only(session)
        session.scalar(select(Account.name).where(Account.id == shop.id))
        begin_write(session)
        assert not _autocommit(session)
        session.execute(update(Account).where(Account.id == shop.id).values(timezone="UTC"))
        session.rollback()  # undoes the write: it was not autocommitted
    with session_scope() as session:
        assert session.scalar(select(Account.timezone).where(Account.id == shop.id)) == "Europe/Berlin"
