"""Customer persistence, always scoped to one account. No HTTP in here.

Both faces call these functions; nothing else touches the session for
customers. Every write commits its own transaction, so a request either
writes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Executable,
    Result,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Account
from app.customers import history, queries, trash
from app.customers.merge import Merge, merge
from app.customers.models import (
    ADDRESS_FIELDS,
    BILLING,
    PHONE_FIELDS,
    SHIPPING,
    Address,
    Customer,
    CustomerRecord,
    Phone,
    Record,
)
from app.customers.queries import CUSTOMERS, SEARCH_COUNT_CAP, Shape
from app.customers.queries import Query as Query  # callers name it service.Query
from app.customers.trash import TrashedCustomer
from app.database.base import utcnow
from app.database.engine import begin_write
from app.shared.audit import SYSTEM, Who
from app.shared.inputs import MAX_ID
from app.shared.paging import Page

PAGE_SIZE = 30


# -- reads (what they run is planned and built in app/customers/queries.py) ---------


def get(session: Session, account_id: int, customer_id: int) -> Customer | None:
    if not 0 < customer_id <= MAX_ID:
        return None
    return session.execute(_GET, {"account_id": account_id, "customer_id": customer_id}).unique().scalar_one_or_none()


# Built once (building and keying an ORM statement with a loader option costs as much as running it).
# With its addresses in the same statement: every caller shows or binds them (one round trip less).
_GET = (
    select(Customer)
    .options(joinedload(Customer.addresses), selectinload(Customer.phones))
    .where(Customer.account_id == bindparam("account_id"), Customer.id == bindparam("customer_id"))
)


_CUSTOMER_COUNT = select(Account.customer_count).where(Account.id == bindparam("account_id"))
_FAVOURITE_COUNT = select(Account.favourite_count).where(Account.id == bindparam("account_id"))


@dataclass(frozen=True)
class Count:
    value: int
    exact: bool = True


def count(session: Session, account_id: int, query: Query = Query(), where: tuple[Shape, dict[str, Any]] | None = None) -> Count:
    """How many customers a list holds: exact and O(1) without a search (kept
    counters), exact up to SEARCH_COUNT_CAP with one."""
    query = query.normalised()
    if not query.search:
        kept = _FAVOURITE_COUNT if query.favourites else _CUSTOMER_COUNT
        # Core, not the ORM's execute: half the cost for a single value (counts run on every list).
        return Count(session.connection().scalar(kept, {"account_id": account_id}) or 0)
    shape, params = where or queries.plan(session, account_id, query)
    if "found" in params:
        value = params["found"]
    else:
        from_postings = shape.counted and not shape.count_rows
        stmt = queries.posted_count(shape, len(params["words"]) > 1) if from_postings else queries.capped_count(shape)
        value = session.connection().scalar(stmt, params) or 0
    if value > SEARCH_COUNT_CAP:
        return Count(SEARCH_COUNT_CAP, exact=False)
    return Count(value)


def page(
    session: Session, account_id: int, query: Query = Query(), number: int = 1, per_page: int = PAGE_SIZE, addresses: bool = False
) -> Page:
    """One page of a list. Pages past the middle are read from the far end, so the
    last page costs what the first does."""
    query = query.normalised()
    shape, params = queries.plan(session, account_id, query)
    total = count(session, account_id, query, (shape, params))
    shape = queries.measured(session, shape, total.value, total.exact, query.sort)
    offset = (number - 1) * per_page
    known = _known_order(shape, params, query, offset + per_page)
    if known is not None:
        # The matches in the list's order are known (all of them, or the first pages'): the page is read by id.
        items = _in_order(session, known[offset : offset + per_page])
    elif total.exact and offset >= total.value:
        items = []
    elif total.exact and offset > total.value // 2:
        remaining = total.value - offset
        params = {**params, "offset": max(0, remaining - per_page), "limit": min(per_page, remaining)}
        items = _records(session, queries.page_statement(shape, query.sort, not query.descending, params), params)[::-1]
    else:
        params = {**params, "offset": offset, "limit": per_page}
        walked = _walked(session, shape, query, params)
        items = walked if walked is not None else _records(session, queries.page_statement(shape, query.sort, query.descending, params), params)
    if addresses and items:
        _attach_addresses(session, items)
    return Page(items=items, total=total.value, page=number, per_page=per_page, exact=total.exact)


def _known_order(shape: Shape, params: dict[str, Any], query: Query, needed: int) -> list[int] | None:
    """The ids of a list's matches in its order, as far as the plan knows them without reading the rows:
    every match when they are listed, by name or in the order they were made (by id); the first ones
    (``by_name``) of several common words by name. None when they are not known as far as ``needed``."""
    by_name: list[int] | None = params.get("by_name")
    if by_name is None:
        return None
    if shape.listed and query.sort in ("name", "created"):
        known = by_name if query.sort == "name" else sorted(by_name)
        return known[::-1] if query.descending else known
    if query.sort == "name" and not query.descending and needed <= len(by_name):
        return by_name
    return None


# A common word's page in another order than by name walks that order's index for at most this
# many rows; when they do not hold the page (the matches cluster further on: a city's customers
# sorted by city), its matches are gathered from its postings and sorted instead.
WALK_AT_MOST = 20_000


def _walked(session: Session, shape: Shape, query: Query, params: dict[str, Any]) -> list[CustomerRecord] | None:
    """A page read by walking the list's order up to WALK_AT_MOST rows, then, if that fell short,
    by gathering the leading word's matches; None when the page is not of that kind."""
    if not shape.counted or shape.merged or shape.count_rows:
        return None
    connection = session.connection()
    bound: Any = connection.execute(queries.walk_bound(query.sort, query.descending), {**params, "walk": WALK_AT_MOST}).first()
    if bound is None:  # the whole list is within the walk
        return None
    stmt = queries.bounded_slice(shape, query.sort, query.descending)
    items = _records(session, stmt, {**params, "bound_key": bound[0], "bound_id": bound[-1]})
    if len(items) == params["limit"]:
        return items
    gather = replace(shape, posted=True, counted=False, probed=0)
    return _records(session, queries.page_slice(gather, query.sort, query.descending), params)


def page_after(
    session: Session, account_id: int, after_id: int, query: Query = Query(), per_page: int = PAGE_SIZE, addresses: bool = False
) -> tuple[Page, bool]:
    """The customers after ``after_id`` in id order (a keyset page: the same cost at any depth),
    and whether more follow. ``query`` filters; its sort is ignored."""
    query = query.normalised()
    shape, params = queries.plan(session, account_id, query)
    total = count(session, account_id, query, (shape, params))
    items = _records(session, queries.after(shape), {**params, "after_id": after_id, "limit": per_page + 1})
    more = len(items) > per_page
    items = items[:per_page]
    if addresses and items:
        _attach_addresses(session, items)
    return Page(items=items, total=total.value, page=0, per_page=per_page, exact=total.exact), more
ADDRESSES = Address.__table__


RecordT = TypeVar("RecordT", bound=Record)


def records(session: Session, account_id: int, ids: list[int]) -> list[CustomerRecord]:
    """The account's customers of ``ids`` that exist, with their addresses (in no particular order)."""
    items = _records(session, _BY_IDS, {"account_id": account_id, "ids": ids}) if ids else []
    if items:
        _attach_addresses(session, items)
    return items


_BY_IDS = select(CUSTOMERS).where(CUSTOMERS.c.account_id == bindparam("account_id"), CUSTOMERS.c.id.in_(bindparam("ids", expanding=True)))


_ADDRESSES_OF = (
    select(ADDRESSES)
    .where(ADDRESSES.c.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(ADDRESSES.c.customer_id, ADDRESSES.c.kind, ADDRESSES.c.position)
)


def _as_records(result: Result[*tuple[Any, ...]], kind: type[RecordT]) -> Iterator[RecordT]:
    keys = list(result.keys())
    for row in result:
        yield kind(dict(zip(keys, row)))


def _records(session: Session, stmt: Executable, params: dict[str, Any] | None = None) -> list[CustomerRecord]:
    return list(_as_records(session.connection().execute(stmt, params), CustomerRecord))


_BY_IDS = select(CUSTOMERS).where(CUSTOMERS.c.id.in_(bindparam("ids", expanding=True)))


def _in_order(session: Session, ids: list[int]) -> list[CustomerRecord]:
    """The customers ``ids``, in that order."""
    if not ids:
        return []
    found = {item.id: item for item in _records(session, _BY_IDS, {"ids": ids})}
    return [found[i] for i in ids]


PHONES = Phone.__table__
_PHONES_OF = (
    select(PHONES)
    .where(PHONES.c.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(PHONES.c.customer_id, PHONES.c.position)
)


def _attach_addresses(session: Session, items: list[CustomerRecord]) -> None:
    """Every address and phone number of ``items`` (one query each), in the order the mapped relationships keep."""
    ids = {"ids": [item.id for item in items]}
    for statement, name in ((_ADDRESSES_OF, "addresses"), (_PHONES_OF, "phones")):
        by_customer: dict[int, list[Record]] = {item.id: [] for item in items}
        for row in _as_records(session.connection().execute(statement, ids), Record):
            by_customer[row.customer_id].append(row)
        for item in items:
            setattr(item, name, by_customer[item.id])


def stream(session: Session, account_id: int, query: Query = Query(), batch: int = 500) -> Iterator[CustomerRecord]:
    """Every matching customer (without addresses), in order, fetched in batches (for printing and export)."""
    query = query.normalised()
    shape, params = queries.plan(session, account_id, query)
    stmt = queries.ordered(shape, query.sort, query.descending).execution_options(yield_per=batch)
    yield from _as_records(session.connection().execute(stmt, params), CustomerRecord)


def stream_with_addresses(session: Session, account_id: int, query: Query = Query(), batch: int = 500) -> Iterator[CustomerRecord]:
    """``stream`` with every customer's addresses, read for each batch in one query (for export)."""
    pending: list[CustomerRecord] = []
    for item in stream(session, account_id, query, batch):
        pending.append(item)
        if len(pending) == batch:
            _attach_addresses(session, pending)
            yield from pending
            pending = []
    if pending:
        _attach_addresses(session, pending)
        yield from pending


_SHIPPING_COUNTS = (
    select(func.count().label("n"))
    .where(ADDRESSES.c.account_id == bindparam("account_id"), ADDRESSES.c.kind == SHIPPING)
    .group_by(ADDRESSES.c.customer_id)
    .subquery()
)
_MOST_SHIPPING = select(func.max(_SHIPPING_COUNTS.c.n))


def most_shipping_addresses(session: Session, account_id: int) -> int:
    """The most shipping addresses any customer of the account has (an export's columns for them)."""
    return session.connection().scalar(_MOST_SHIPPING, {"account_id": account_id}) or 0


# -- writes ----------------------------------------------------------------


def _account_change(session: Session, account_id: int, customers: int = 0, favourites: int = 0, scoped_ids: int = 0) -> tuple[int, int]:
    """Every change to an account's customers calls this once, in its transaction:
    it adjusts the account's counters and raises its customers revision (under
    the account's row lock). Returns the last scoped id handed out and the number of
    the change's event (history.record): numbered under the lock, held to the commit,
    events are numbered in the order they commit (the changes feed relies on it)."""
    # The account's row lock first, then the pending changes: a change adds the new words of its
    # customers to the account's words (search_words) only under this lock. Two changes that add the
    # same new word then queue here, never each on the other's uncommitted word (PostgreSQL: a deadlock).
    # Callers do not flush a customer's words before calling this (``_restore``).
    values = {"account_id": account_id, "customers": customers, "favourites": favourites, "scoped_ids": scoped_ids}
    scoped_id, seq = session.connection().execute(_ACCOUNT_CHANGE, values).one()
    session.flush()
    return int(scoped_id), int(seq)


# Built once, on the table: through the ORM, building the statement and its bulk-update
# bookkeeping cost a quarter of an inline save. No Account is loaded in these transactions.
_ACCOUNTS = cast(Table, Account.__table__)
_ACCOUNT_CHANGE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values(
        customer_seq=_ACCOUNTS.c.customer_seq + bindparam("scoped_ids"),
        customer_count=_ACCOUNTS.c.customer_count + bindparam("customers"),
        favourite_count=_ACCOUNTS.c.favourite_count + bindparam("favourites"),
        customers_revision=_ACCOUNTS.c.customers_revision + 1,
        change_seq=_ACCOUNTS.c.change_seq + 1,
    )
    .returning(_ACCOUNTS.c.customer_seq, _ACCOUNTS.c.change_seq)
)


def _apply(customer: Customer, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name not in ("billing_address", "shipping_address", "phone_numbers"):
            setattr(customer, name, value)
    if "phone_numbers" in data:
        _apply_phones(customer, data["phone_numbers"] or [])
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
    # In memory in the order a read gives them (the relationship's order_by), as they are shown.
    customer.addresses.sort(key=lambda a: (a.kind, a.position))
    customer.refresh_derived()


def _apply_phones(customer: Customer, entries: list[dict[str, Any]]) -> None:
    """The customer's numbers become ``entries``, in their order, each stored one changed in place (keeping its id):
    the one an entry names by ``id``, or for an entry without one of the customer's ids, the one at the entry's
    position (unless another entry names that one). Other entries are new numbers; stored ones none takes are removed."""
    stored = list(customer.phones)
    by_id = {phone.id: phone for phone in stored if phone.id is not None}
    named = {entry.get("id") for entry in entries} & by_id.keys()
    taken: set[int] = set()  # id() of the stored numbers already given to an entry
    phones: list[Phone] = []
    for position, entry in enumerate(entries):
        wanted = entry.get("id")
        phone = by_id.get(wanted) if isinstance(wanted, int) else None
        if phone is None or id(phone) in taken:
            at = stored[position] if position < len(stored) else None
            phone = at if at is not None and at.id not in named and id(at) not in taken else None
        if phone is None:
            phone = Phone(account_id=customer.account_id)
        taken.add(id(phone))
        phone.position = position
        for name in PHONE_FIELDS:
            setattr(phone, name, entry.get(name) or ("normal" if name == "type" else ""))
        phones.append(phone)
    customer.phones[:] = phones


def _apply_address(address: Address, data: dict[str, Any]) -> None:
    for name in ADDRESS_FIELDS:
        if name in data:
            setattr(address, name, data[name] or "")


class VersionConflict(Exception):
    """The customer changed since the version the caller based its change on (and, for a merged
    update, ``merge`` tells which fields both changed)."""

    def __init__(self, customer: Customer, merge: Merge | None = None) -> None:
        super().__init__(f"customer {customer.id} is at version {customer.version}")
        self.customer = customer
        self.merge = merge


def create(session: Session, account_id: int, data: dict[str, Any], who: Who = SYSTEM) -> Customer:
    begin_write(session)
    favourite = 1 if data.get("is_favourite") else 0
    scoped_id, seq = _account_change(session, account_id, customers=1, favourites=favourite, scoped_ids=1)
    customer = Customer(account_id=account_id, account_scoped_id=scoped_id, addresses=[], phones=[])
    _apply(customer, data)
    session.add(customer)
    session.flush()
    history.record(session, seq, customer.id, account_id, "create", who, history.diff({}, history.snapshot(customer)))
    session.commit()
    return customer


def get_for_update(session: Session, account_id: int, customer_id: int) -> Customer | None:
    """Read a customer to change it: holds the row (PostgreSQL) or the write lock (SQLite)
    until the transaction ends, so concurrent partial updates never undo each other."""
    if not 0 < customer_id <= MAX_ID:
        return None
    begin_write(session)
    customer = session.scalar(_GET_FOR_UPDATE, {"account_id": account_id, "customer_id": customer_id})
    if customer is None:
        session.rollback()  # nothing to change: the write lock is not held while the caller answers
    return customer


_GET_FOR_UPDATE = (
    select(Customer)
    .where(Customer.account_id == bindparam("account_id"), Customer.id == bindparam("customer_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
    .options(selectinload(Customer.addresses), selectinload(Customer.phones))
)


def _check_version(customer: Customer, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != customer.version:
        raise VersionConflict(customer)


def update_customer(
    session: Session, customer: Customer, data: dict[str, Any], who: Who = SYSTEM, expected_version: int | None = None
) -> Customer:
    """Apply validated form data to a customer read with ``get_for_update``.

    With ``expected_version``, refuse (VersionConflict) if someone changed the
    customer since; nothing is written then. Data that changes no field writes
    nothing either (no version, no ``updated_at``, no history event): a form
    saved unchanged, from either face, leaves the customer as it was.
    """
    _check_version(customer, expected_version)
    return _update(session, customer, data, who)


def update_merged(session: Session, customer: Customer, data: dict[str, Any], who: Who, base_version: int) -> tuple[Customer, Merge | None]:
    """Save a whole form's ``data``, based on ``base_version``, into a customer read with ``get_for_update``.

    If others changed the customer since, their changes are merged in (see app/customers/merge.py): the
    fields only they changed keep their values. If both changed a field differently, nothing is written:
    VersionConflict, with the merge. Returns the customer and the merge (None if nobody came between)."""
    if base_version == customer.version:
        return _update(session, customer, data, who), None
    merged = merge(session, customer, data, base_version)
    if merged.conflicts:
        raise VersionConflict(customer, merged)
    return _update(session, customer, merged.data, who), merged


def _update(session: Session, customer: Customer, data: dict[str, Any], who: Who) -> Customer:
    before = history.snapshot(customer)
    was_favourite = customer.is_favourite
    _apply(customer, data)
    changes = history.diff(before, history.snapshot(customer))
    if not changes:
        # Not even what _apply recomputed (search text, sort name) is flushed: the transaction ends
        # without a write, and the customer is read again as it is stored (the rollback expired what
        # _apply changed in memory: addresses made, removed or moved, a billing address made for
        # one that was missing), so that what is shown is what is stored.
        session.rollback()
        return get(session, customer.account_id, customer.id) or customer
    customer.updated_at = utcnow()
    _, seq = _account_change(session, customer.account_id, favourites=int(customer.is_favourite) - int(was_favourite))
    history.record(session, seq, customer.id, customer.account_id, "update", who, changes)
    session.commit()
    return customer


def set_favourite(session: Session, account_id: int, customer_id: int, favourite: bool, who: Who = SYSTEM) -> Customer | None:
    customer = get_for_update(session, account_id, customer_id)
    if customer is None:
        return None
    if customer.is_favourite != favourite:
        _set_flag(session, customer, "is_favourite", favourite, who)
    session.commit()
    return customer


def _set_flag(session: Session, customer: Customer, name: str, value: bool, who: Who) -> None:
    old = getattr(customer, name)
    setattr(customer, name, value)
    customer.updated_at = utcnow()
    favourites = (1 if value else -1) if name == "is_favourite" else 0
    _, seq = _account_change(session, customer.account_id, favourites=favourites)
    history.record(session, seq, customer.id, customer.account_id, "update", who, {name: [old, value]})


def _to_trash(session: Session, customer: Customer, who: Who, at: datetime | None = None) -> None:
    data = history.snapshot(customer)
    data["created_at"] = customer.created_at.isoformat()
    data["version"] = customer.version
    # The addresses' ids, so that a restore gives them back (an integration may hold them).
    billing = customer.billing_address
    data["address_ids"] = {"billing": billing.id if billing else None, "shipping": [a.id for a in customer.shipping_addresses]}
    data["phone_ids"] = [p.id for p in customer.phones]
    session.add(
        TrashedCustomer(
            account_id=customer.account_id,
            customer_id=customer.id,
            account_scoped_id=customer.account_scoped_id,
            label=(customer.display_name or f"Customer #{customer.account_scoped_id}")[:300],
            data=data,
            deleted_at=at or utcnow(),
            deleted_by=who.label[:254],
        )
    )
    _, seq = _account_change(session, customer.account_id, customers=-1, favourites=-1 if customer.is_favourite else 0)
    history.record(session, seq, customer.id, customer.account_id, "delete", who, {})
    session.delete(customer)


def delete(session: Session, account_id: int, customer_id: int, who: Who = SYSTEM, expected_version: int | None = None) -> bool:
    """Move a customer to the trash (restorable for trash.RETENTION_DAYS)."""
    customer = get_for_update(session, account_id, customer_id)
    if customer is None:
        return False
    _check_version(customer, expected_version)
    trash_customer(session, customer, who)
    return True


def trash_customer(session: Session, customer: Customer, who: Who = SYSTEM) -> None:
    """Move a customer read with ``get_for_update`` to the trash, and commit."""
    _to_trash(session, customer, who)
    session.commit()


def restore(session: Session, account_id: int, customer_id: int, who: Who = SYSTEM) -> Customer | None:
    """Bring a customer back from the trash, with its id and number if they are free."""
    begin_write(session)
    trashed = trash.get(session, account_id, customer_id)
    if trashed is None:
        session.rollback()
        return None
    customer = _restore(session, trashed, who)
    session.commit()
    return customer


def restore_many(session: Session, account_id: int, customer_ids: list[int], who: Who = SYSTEM) -> int:
    """Bring customers back from the trash in one transaction; returns how many came back
    (ids no longer in the trash are skipped)."""
    begin_write(session)
    restored = 0
    for customer_id in dict.fromkeys(i for i in customer_ids if 0 < i <= MAX_ID):
        trashed = trash.get(session, account_id, customer_id)
        if trashed is not None:
            _restore(session, trashed, who)
            restored += 1
    session.commit()
    return restored


def restore_deleted_together(session: Session, account_id: int, deleted_at: datetime, who: Who = SYSTEM) -> int:
    """Undo one bulk delete of ``who``: bring back what it moved to the trash (and is still there)."""
    begin_write(session)
    batch = trash.deleted_together(session, account_id, deleted_at, who.label[:254])
    for trashed in batch:
        _restore(session, trashed, who)
    session.commit()
    return len(batch)


def _restore(session: Session, trashed: TrashedCustomer, who: Who) -> Customer:
    account_id = trashed.account_id
    data = dict(trashed.data)
    taken = session.scalar(select(Customer.id).where(Customer.id == trashed.customer_id)) is not None
    fields = {name: data.get(name) for name in history.SCALARS}
    birthday = fields.get("birthday")
    if birthday:
        fields["birthday"] = datetime.fromisoformat(birthday)
    customer = Customer(
        id=None if taken else trashed.customer_id,
        account_id=account_id,
        account_scoped_id=trashed.account_scoped_id,
        created_at=datetime.fromisoformat(data["created_at"]) if data.get("created_at") else utcnow(),
        version=int(data.get("version") or 1),
        addresses=[],
        phones=[],
    )
    phones = history.phones_of(data)
    _apply(customer, {**fields, "billing_address": data.get("billing_address") or {}, "shipping_address": data.get("shipping_address") or [], "phone_numbers": phones})
    ids = data.get("address_ids") or {}
    _keep_ids(session, Address, [(customer.billing_address, ids.get("billing")), *zip(customer.shipping_addresses, ids.get("shipping") or [], strict=False)])
    _keep_ids(session, Phone, list(zip(customer.phones, data.get("phone_ids") or [], strict=False)))
    # The rows that got their old ids are inserted first (a flush inserts a customer's rows in its lists' order):
    # SQLite gives a row inserted without an id the highest one + 1, which may be one kept here.
    customer.addresses.sort(key=lambda row: row.id is None)
    customer.phones.sort(key=lambda row: row.id is None)
    _, seq = _account_change(session, account_id, customers=1, favourites=1 if customer.is_favourite else 0)
    session.add(customer)
    session.flush()
    customer.addresses.sort(key=lambda a: (a.kind, a.position))
    customer.phones.sort(key=lambda p: p.position)
    # The version goes on from the deleted one's (an insert starts at 1): a form opened before the delete
    # meets the restore as a change made since (app/customers/merge.py counts it as one).
    restored_version = int(data.get("version") or 1) + 1
    session.execute(update(Customer).where(Customer.id == customer.id).values(version=restored_version).execution_options(synchronize_session=False))
    set_committed_value(customer, "version", restored_version)
    history.record(session, seq, customer.id, account_id, "restore", who, {})
    session.delete(trashed)
    return customer


def _keep_ids(session: Session, model: type[Address] | type[Phone], wanted: list[tuple[Any, Any]]) -> None:
    """Give a restored customer's addresses (or phone numbers) the ids they had before the delete, where still free:
    ``wanted`` pairs each with its old id (an integration may hold them)."""
    wanted = [(row, i) for row, i in wanted if row is not None and isinstance(i, int)]
    if not wanted:
        return
    taken = set(session.scalars(select(model.id).where(model.id.in_([i for _, i in wanted]))))
    for row, i in wanted:
        if i not in taken:
            row.id = i


BULK_ACTIONS = ("favourite", "unfavourite", "delete")
BULK_LIMIT = 5_000


def bulk(session: Session, account_id: int, ids: list[int], action: str, who: Who = SYSTEM, at: datetime | None = None) -> int:
    """Favourite, unfavourite or delete many customers in one transaction; returns how many changed.
    A delete stamps every customer it moves to the trash with the same time, ``at`` (now if not
    given): ``restore_deleted_together`` undoes it by that time."""
    if action not in BULK_ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    begin_write(session)
    at = at or utcnow()
    changed = 0
    ids = [i for i in ids if 0 < i <= MAX_ID]
    for start in range(0, len(ids), 500):
        stmt = (
            select(Customer)
            .where(Customer.account_id == account_id, Customer.id.in_(ids[start : start + 500]))
            .with_for_update()
            .options(selectinload(Customer.addresses), selectinload(Customer.phones))
        )
        for customer in session.scalars(stmt):
            if action == "delete":
                _to_trash(session, customer, who, at)
                changed += 1
            elif customer.is_favourite != (action == "favourite"):
                _set_flag(session, customer, "is_favourite", action == "favourite", who)
                changed += 1
    session.commit()
    return changed


def matching_ids(session: Session, account_id: int, query: Query, limit: int = BULK_LIMIT) -> list[int]:
    """The ids a list shows, in its order, up to ``limit`` (for "select all matching")."""
    query = query.normalised()
    shape, params = queries.plan(session, account_id, query)
    stmt = queries.page_slice(shape, query.sort, query.descending).with_only_columns(CUSTOMERS.c.id)
    return list(session.connection().scalars(stmt, {**params, "offset": 0, "limit": limit}))
