"""Customer persistence, always scoped to one account. No HTTP in here.

Both faces call these functions; nothing else touches the session for
customers. Every write commits its own transaction, so a request either
writes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from app.accounts.models import Account
from app.base import utcnow
from app.customers.models import ADDRESS_FIELDS, BILLING, SHIPPING, Address, Customer

PAGE_SIZE = 30

SORTS: dict[str, tuple[str, ...]] = {
    "name": ("last_name", "first_name"),
    "company": ("company",),
    "email": ("email",),
    "phone": ("phone_number",),
    "city": ("city",),
    "created": (),
}


@dataclass(frozen=True)
class Query:
    """What a list shows: a search, a favourites filter and an order."""

    search: str = ""
    favourites: bool = False
    sort: str = "name"
    descending: bool = False

    def normalised(self) -> Query:
        sort = self.sort if self.sort in SORTS else "name"
        return Query(" ".join(self.search.split())[:200], self.favourites, sort, self.descending)


@dataclass(frozen=True)
class Page:
    items: list[Customer]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _writing(session: Session) -> None:
    """Start a write transaction.

    A read transaction still open in the session is ended first, so the write
    sees the latest data; on SQLite the write lock is taken at BEGIN, so
    concurrent writers queue instead of failing on a lock upgrade.
    """
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


# -- reads -----------------------------------------------------------------

_billing = aliased(Address, name="billing")


def _filtered(account_id: int, query: Query) -> Select[Any]:
    stmt = (
        select(Customer)
        .outerjoin(_billing, and_(_billing.customer_id == Customer.id, _billing.kind == BILLING, _billing.account_id == account_id))
        .where(Customer.account_id == account_id)
    )
    if query.favourites:
        stmt = stmt.where(Customer.is_favourite.is_(True))
    for word in query.search.split():
        stmt = stmt.where(_matches(word))
    return stmt


def _matches(word: str) -> ColumnElement[bool]:
    columns = (
        Customer.first_name,
        Customer.last_name,
        Customer.company,
        Customer.email,
        Customer.phone_number,
        _billing.city,
    )
    return or_(*(column.icontains(word, autoescape=True) for column in columns))


def _ordered(stmt: Select[Any], query: Query) -> Select[Any]:
    columns = [(_billing.city if name == "city" else getattr(Customer, name)) for name in SORTS[query.sort]]
    columns.append(Customer.id)
    return stmt.order_by(*(c.desc() if query.descending else c.asc() for c in columns))


def get(session: Session, account_id: int, customer_id: int) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.account_id == account_id, Customer.id == customer_id))


def count(session: Session, account_id: int, query: Query = Query()) -> int:
    query = query.normalised()
    stmt = _filtered(account_id, query).with_only_columns(func.count(Customer.id))
    if not query.search:
        stmt = stmt.select_from(Customer)
    return session.scalar(stmt) or 0


def page(session: Session, account_id: int, query: Query = Query(), number: int = 1, per_page: int = PAGE_SIZE) -> Page:
    query = query.normalised()
    stmt = _ordered(_filtered(account_id, query), query).limit(per_page).offset((number - 1) * per_page)
    items = list(session.scalars(stmt.options(selectinload(Customer.addresses))))
    return Page(items=items, total=count(session, account_id, query), page=number, per_page=per_page)


def stream(session: Session, account_id: int, query: Query = Query(), batch: int = 500) -> Iterator[Customer]:
    """Every matching customer, in order, fetched in batches (for printing and export)."""
    query = query.normalised()
    stmt = _ordered(_filtered(account_id, query), query).options(selectinload(Customer.addresses))
    result = session.scalars(stmt.execution_options(yield_per=batch))
    for customer in result:
        yield customer


# -- writes ----------------------------------------------------------------


def _next_scoped_id(session: Session, account_id: int) -> int:
    """Hand out the account's next customer number under a row lock."""
    return session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(customer_seq=Account.customer_seq + 1)
        .returning(Account.customer_seq)
    ).scalar_one()


def _apply(customer: Customer, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name not in ("billing_address", "shipping_address"):
            setattr(customer, name, value)
    billing = customer.billing_address
    if billing is None:
        billing = Address(account_id=customer.account_id, kind=BILLING, position=0)
        customer.addresses.append(billing)
    _apply_address(billing, data.get("billing_address") or {})
    existing = {a.id: a for a in customer.shipping_addresses}
    for position, entry in enumerate(data.get("shipping_address") or []):
        address = existing.pop(entry.get("id"), None) if entry.get("id") else None
        if address is None:
            address = Address(account_id=customer.account_id, kind=SHIPPING)
            customer.addresses.append(address)
        address.position = position
        _apply_address(address, entry)
    for address in existing.values():
        customer.addresses.remove(address)


def _apply_address(address: Address, data: dict[str, Any]) -> None:
    for name in ADDRESS_FIELDS:
        if name in data:
            setattr(address, name, data[name] or "")


def create(session: Session, account_id: int, data: dict[str, Any]) -> Customer:
    _writing(session)
    customer = Customer(account_id=account_id, account_scoped_id=_next_scoped_id(session, account_id), addresses=[])
    _apply(customer, data)
    session.add(customer)
    session.commit()
    return customer


def get_for_update(session: Session, account_id: int, customer_id: int) -> Customer | None:
    """Read a customer to change it: holds the row (PostgreSQL) or the write lock (SQLite)
    until the transaction ends, so concurrent partial updates never undo each other."""
    _writing(session)
    stmt = (
        select(Customer)
        .where(Customer.account_id == account_id, Customer.id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(stmt)


def update_customer(session: Session, customer: Customer, data: dict[str, Any]) -> Customer:
    """Apply validated form data to a customer read with ``get_for_update``."""
    _apply(customer, data)
    if session.is_modified(customer) or any(session.is_modified(a) for a in customer.addresses):
        customer.updated_at = utcnow()
    session.commit()
    return customer


def set_favourite(session: Session, account_id: int, customer_id: int, favourite: bool) -> Customer | None:
    customer = get_for_update(session, account_id, customer_id)
    if customer is None:
        session.rollback()
        return None
    customer.is_favourite = favourite
    session.commit()
    return customer


def delete(session: Session, account_id: int, customer_id: int) -> bool:
    customer = get_for_update(session, account_id, customer_id)
    if customer is None:
        session.rollback()
        return False
    session.delete(customer)
    session.commit()
    return True
