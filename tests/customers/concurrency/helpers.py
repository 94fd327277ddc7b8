"""Small tools of the concurrency tests: start threads together, read the database
(the forms of a page are read by tests/htmlforms.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))



def together(count: int, work: Callable[[int, threading.Barrier], T], timeout: float = 60) -> list[T]:
    """Run ``work(index, barrier)`` in ``count`` threads; each calls ``barrier.wait()`` right
    before the request that should race. Returns the results in index order; re-raises
    the first exception."""
    barrier = threading.Barrier(count, timeout=timeout)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, index, barrier) for index in range(count)]
        return [future.result(timeout=timeout) for future in futures]


def etag_version(etag: str) -> int:
    """The version in an ETag ``"<id>-<version>"``."""
    return int(etag.strip('"').rsplit("-", 1)[1])


# -- the database, read directly ----------------------------------------------------


def stored(account_id: int, customer_id: int) -> dict[str, Any] | None:
    """A customer's fields as stored (snapshot form, plus ``version``), or None."""
    from app.customers import history, service
    from app.database.engine import session_scope

    with session_scope() as session:
        customer = service.get(session, account_id, customer_id)
        if customer is None:
            return None
        data = history.snapshot(customer)
        data["version"] = customer.version
        data["account_scoped_id"] = customer.account_scoped_id
        return data


def trashed(account_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The trash entries of a customer (snapshots taken when it was deleted)."""
    from sqlalchemy import select

    from app.customers.trash import TrashedCustomer
    from app.database.engine import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(TrashedCustomer).where(TrashedCustomer.account_id == account_id, TrashedCustomer.customer_id == customer_id)
        )
        return [dict(row.data) for row in rows]


def counters_agree(account_id: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((kept customer_count, real count), (kept favourite_count, real count)) of an account."""
    from sqlalchemy import func, select

    from app.accounts.models import Account
    from app.customers.models import Customer
    from app.database.engine import session_scope

    with session_scope() as session:
        account = session.get(Account, account_id)
        real = session.scalar(select(func.count()).select_from(Customer).where(Customer.account_id == account_id))
        favourites = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.account_id == account_id, Customer.is_favourite.is_(True))
        )
        return (account.customer_count, real), (account.favourite_count, favourites)


def update_events(account_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The ``changes`` of every update event of a customer, oldest first."""
    from sqlalchemy import select

    from app.customers.history import CustomerEvent
    from app.database.engine import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(CustomerEvent)
            .where(CustomerEvent.account_id == account_id, CustomerEvent.customer_id == customer_id, CustomerEvent.action == "update")
            .order_by(CustomerEvent.id)
        )
        return [dict(row.changes) for row in rows]

