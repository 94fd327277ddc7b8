"""Deleted customers, kept restorable for RETENTION_DAYS.

A delete moves the customer out of the customers table into the trash (a
snapshot as JSON), so every read, list, count and index stays as it was
without a "deleted" filter anywhere.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.customers.models import Record
from app.database.base import Base, UTCDateTime, utcnow
from app.database.engine import rowcount
from app.shared.paging import Page

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


SORTS = {"name": "label", "deleted": "deleted_at"}


def _where(account_id: int, search: str = "") -> list[ColumnElement[bool]]:
    """The account's trash within the retention, every word of ``search`` in the name (any case)."""
    since = utcnow() - timedelta(days=RETENTION_DAYS)
    conds = [TrashedCustomer.account_id == account_id, TrashedCustomer.deleted_at > since]
    for word in search.split():
        pattern = "%" + word.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        conds.append(TrashedCustomer.label.ilike(pattern, escape="/"))
    return conds


def _order(sort: str, descending: bool) -> list[Any]:
    """Newest first unless another order is asked for."""
    if sort not in SORTS:
        sort, descending = "deleted", True
    columns = [getattr(TrashedCustomer, SORTS[sort]), TrashedCustomer.id]
    return [c.desc() if descending else c.asc() for c in columns]


_SHOWN = (
    TrashedCustomer.customer_id.label("id"),
    TrashedCustomer.label,
    TrashedCustomer.deleted_at,
    TrashedCustomer.deleted_by,
)


def page(session: Session, account_id: int, search: str = "", sort: str = "", descending: bool = False, number: int = 1, per_page: int = 30) -> Page:
    """One page of the trash: items with ``id`` (the customer's), ``label``, ``deleted_at``,
    ``deleted_by`` and ``purge_at``, and the exact count (a trash holds 30 days of deletes)."""
    where = _where(account_id, search)
    total = session.scalar(select(func.count()).select_from(TrashedCustomer).where(*where)) or 0
    number = min(number, max(1, -(-total // per_page)))
    stmt = select(*_SHOWN).where(*where).order_by(*_order(sort, descending)).offset((number - 1) * per_page).limit(per_page)
    items = [Record({**row._mapping, "purge_at": row.deleted_at + timedelta(days=RETENTION_DAYS)}) for row in session.execute(stmt)]
    return Page(items=items, total=total, page=number, per_page=per_page)


def matching_ids(session: Session, account_id: int, search: str = "", limit: int = 5_000) -> list[int]:
    """The customers in the trash that a search finds, newest first, up to ``limit``."""
    stmt = select(TrashedCustomer.customer_id).where(*_where(account_id, search)).order_by(*_order("", False)).limit(limit)
    return list(session.scalars(stmt))


def count(session: Session, account_id: int) -> int:
    return session.scalar(select(func.count()).select_from(TrashedCustomer).where(*_where(account_id))) or 0


def deleted_together(session: Session, account_id: int, deleted_at: datetime, deleted_by: str) -> list[TrashedCustomer]:
    """What one bulk delete moved to the trash (it stamps every customer with the same time)."""
    stmt = select(TrashedCustomer).where(
        *_where(account_id), TrashedCustomer.deleted_at == deleted_at, TrashedCustomer.deleted_by == deleted_by
    )
    return list(session.scalars(stmt.order_by(TrashedCustomer.id)))


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
