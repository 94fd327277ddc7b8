"""Deleted customers, kept restorable for RETENTION_DAYS.

A delete moves the customer out of the customers table into the trash (a
snapshot as JSON), so every read, list, count and index stays as it was
without a "deleted" filter anywhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.base import Base, UTCDateTime, utcnow
from app.db import rowcount

RETENTION_DAYS = 30


class TrashedCustomer(Base):
    __tablename__ = "trashed_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(Integer)
    account_scoped_id: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_by: Mapped[str] = mapped_column(String(254), default="")

    __table_args__ = (
        Index("ix_trashed_customers_account_id_customer_id", "account_id", "customer_id"),
        Index("ix_trashed_customers_account_id_deleted_at", "account_id", "deleted_at"),
    )

    @property
    def purge_at(self) -> datetime:
        return self.deleted_at + timedelta(days=RETENTION_DAYS)


def listing(session: Session, account_id: int, limit: int = 200) -> list[TrashedCustomer]:
    since = utcnow() - timedelta(days=RETENTION_DAYS)
    stmt = (
        select(TrashedCustomer)
        .where(TrashedCustomer.account_id == account_id, TrashedCustomer.deleted_at > since)
        .order_by(TrashedCustomer.deleted_at.desc(), TrashedCustomer.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def get(session: Session, account_id: int, customer_id: int) -> TrashedCustomer | None:
    since = utcnow() - timedelta(days=RETENTION_DAYS)
    stmt = (
        select(TrashedCustomer)
        .where(
            TrashedCustomer.account_id == account_id,
            TrashedCustomer.customer_id == customer_id,
            TrashedCustomer.deleted_at > since,
        )
        .order_by(TrashedCustomer.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def purge(session: Session, older_than_days: int = RETENTION_DAYS) -> int:
    """Remove for good what was deleted more than ``older_than_days`` ago."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    removed = rowcount(session.execute(delete(TrashedCustomer).where(TrashedCustomer.deleted_at <= cutoff)))
    session.commit()
    return removed or 0
