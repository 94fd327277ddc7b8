"""The changes feed: an account's customer events in the order they committed.

Each event carries its number in the account (``customer_events.seq``), handed
out under the account's row lock, which the change holds until it commits
(service._account_change): an event numbered n commits before any numbered
n + 1 can be numbered, so a reader that has seen n has seen everything up to n,
and whatever commits later has a larger number. A reader polling with the last
number it read (its cursor) never skips an event, on SQLite (one writer at a
time) as on PostgreSQL (concurrent transactions).

A page is read in one snapshot (REPEATABLE READ on PostgreSQL, one read
transaction on SQLite): its events and the customers they name agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.customers import service
from app.customers.history import KINDS, CustomerEvent
from app.customers.models import CustomerRecord
from app.customers.payload import PHONE_LIST_MAX_VERSION, iso_moment, to_json
from app.customers.schemas import Change, CustomerV9, CustomerV10

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


_EVENTS = CustomerEvent.__table__
_PAGE = (
    select(_EVENTS.c.seq, _EVENTS.c.action, _EVENTS.c.customer_id, _EVENTS.c.at, _EVENTS.c.changes)
    .where(_EVENTS.c.account_id == bindparam("account_id"), _EVENTS.c.seq > bindparam("after"))
    .order_by(_EVENTS.c.seq)
    .limit(bindparam("limit"))
)

_V10_FIELDS = frozenset(CustomerV10.__dataclass_fields__)
_V9_FIELDS = frozenset(CustomerV9.__dataclass_fields__)


def field_name(path: str, version: int) -> str | None:
    """The response field a history path (``billing_address.city``, ``phone_numbers.0.national_number``) shows in, in ``version``; None if none."""
    top, *rest = path.split(".")
    v9 = version <= PHONE_LIST_MAX_VERSION
    if top == "phone_numbers":  # the list's length, or an entry's field: phone_numbers.0.national_number
        if v9:
            return top
        if rest[:1] not in ([], ["0"]):
            return None  # a later number: version 10 shows only the first
        return "country_code" if rest[1:] == ["country_code"] else ("phone_number" if rest[1:] in ([], ["national_number"]) else None)
    return top if top in (_V9_FIELDS if v9 else _V10_FIELDS) else None


def changed_fields(changes: dict[str, Any], version: int) -> list[str]:
    return sorted({name for path in changes if (name := field_name(path, version)) is not None})


@dataclass(frozen=True)
class FeedPage:
    changes: list[Change]
    cursor: int
    full: bool  # as many changes as asked for: more may follow at once


def begin_snapshot(session: Session) -> None:
    """Start ``session``'s read transaction on one snapshot for all its statements."""
    if session.in_transaction():
        session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def read(session: Session, account_id: int, after: int, limit: int, version: int, timezone: str) -> FeedPage:
    """The account's changes numbered after ``after``, at most ``limit`` of them, each with its customer as it is now."""
    begin_snapshot(session)
    try:
        events = session.connection().execute(_PAGE, {"account_id": account_id, "after": after, "limit": limit}).all()
        changes = _changes(session, account_id, events, version, timezone)
    finally:
        session.rollback()
    return FeedPage(changes, changes[-1].id if changes else after, len(changes) == limit)


def numbered(session: Session, account_id: int, seqs: list[int], version: int, timezone: str) -> list[Change]:
    """The account's changes numbered ``seqs``, in order, each with its customer as it is now (webhooks' bodies)."""
    events = session.connection().execute(_NUMBERED, {"account_id": account_id, "seqs": seqs}).all() if seqs else []
    return _changes(session, account_id, events, version, timezone)


_NUMBERED = (
    select(_EVENTS.c.seq, _EVENTS.c.action, _EVENTS.c.customer_id, _EVENTS.c.at, _EVENTS.c.changes)
    .where(_EVENTS.c.account_id == bindparam("account_id"), _EVENTS.c.seq.in_(bindparam("seqs", expanding=True)))
    .order_by(_EVENTS.c.seq)
)


def _changes(session: Session, account_id: int, events: Sequence[Any], version: int, timezone: str) -> list[Change]:
    customers: dict[int, CustomerRecord] = {c.id: c for c in service.records(session, account_id, list({e.customer_id for e in events}))}
    return [
        Change(
            id=e.seq,
            type=KINDS[e.action],  # type: ignore[arg-type]  # the actions history records
            customer_id=e.customer_id,
            at=iso_moment(e.at, timezone),
            changed=changed_fields(e.changes or {}, version),
            customer=to_json(customers[e.customer_id], version, timezone) if e.customer_id in customers else None,  # type: ignore[arg-type]
        )
        for e in events
    ]
