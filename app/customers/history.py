"""What happened to each customer: who changed which fields from what to what.

Every create, change, delete and restore writes one event in the same
transaction as the change itself, so the history is never behind the data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.customers.models import ADDRESS_FIELDS, PHONE_FIELDS, Customer
from app.database.base import Base, UTCDateTime, utcnow
from app.shared.audit import Who
from app.webhooks import outbox

SCALARS = (
    "title", "first_name", "last_name", "company", "email", "birthday",
    "note", "tax_number", "channel", "email_marketing_agreed", "is_b2b", "is_favourite", "is_vip", "is_confirmed",
)


# The lists of a snapshot: their length under their name, each entry's fields under name.index.field.
LISTS = ("shipping_address", "phone_numbers")

# Each action as the changes feed and webhooks name it.
KINDS = {"create": "created", "update": "updated", "delete": "deleted", "restore": "restored"}


class CustomerEvent(Base):
    __tablename__ = "customer_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # create | update | delete | restore
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_label: Mapped[str] = mapped_column(String(254))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The event's number in its account (1, 2, …), handed out under the account's row lock held
    # to the commit (service._account_change): numbers follow the order events commit in, without
    # gaps, which the changes feed's cursor relies on. The id follows the order of inserts.
    seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_customer_events_account_id_customer_id_id", "account_id", "customer_id", "id"),
        Index("ix_customer_events_account_id_seq", "account_id", "seq", unique=True),
    )


def snapshot(customer: Customer) -> dict[str, Any]:
    """A customer's fields as plain JSON values, addresses included."""
    data: dict[str, Any] = {}
    for name in SCALARS:
        value = getattr(customer, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    billing = customer.billing_address
    data["billing_address"] = {n: getattr(billing, n) for n in ADDRESS_FIELDS} if billing else {}
    data["shipping_address"] = [{n: getattr(a, n) for n in ADDRESS_FIELDS} for a in customer.shipping_addresses]
    data["phone_numbers"] = [{n: getattr(p, n) for n in PHONE_FIELDS} for p in customer.phones]
    return data


def phones_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The phone numbers of a snapshot; one taken before customers had a list of them held one number in
    phone_number, phone_type and country_code."""
    if "phone_numbers" in data:
        return list(data["phone_numbers"] or [])
    if data.get("phone_number"):
        return [{"national_number": data["phone_number"], "country_code": data.get("country_code") or "", "type": data.get("phone_type") or "normal"}]
    return []


def flat(data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        if name == "billing_address":
            flat.update({f"billing_address.{k}": v for k, v in value.items()})
        elif name in LISTS:
            flat[name] = len(value)  # how many: an address added or removed shows even when it holds nothing
            for index, entry in enumerate(value):
                flat.update({f"{name}.{index}.{k}": v for k, v in entry.items()})
        else:
            flat[name] = value
    return flat


def same(a: Any, b: Any) -> bool:
    """Equal values, or both empty: a field of an address added or removed that holds nothing
    did not change (None there, "" here)."""
    return a == b or (a in (None, "") and b in (None, ""))


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field that differs: dotted paths for the addresses' fields
    (``billing_address.city``, ``shipping_address.1.zipcode``), and ``shipping_address`` for
    their number when it changes."""
    old, new = flat(before), flat(after)
    for name in LISTS:
        if name in old or name in new:
            old.setdefault(name, 0)
            new.setdefault(name, 0)
    return {k: [old.get(k), new.get(k)] for k in sorted(old.keys() | new.keys()) if not same(old.get(k), new.get(k))}


def record(session: Session, seq: int, customer_id: int, account_id: int, action: str, who: Who, changes: dict[str, Any]) -> None:
    """The event of a change, numbered ``seq`` (the number service._account_change handed out in this transaction),
    and its webhook deliveries (the outbox), in the same transaction."""
    session.add(
        CustomerEvent(
            seq=seq,
            account_id=account_id,
            customer_id=customer_id,
            action=action,
            actor_kind=who.kind,
            actor_id=who.id,
            actor_label=who.label[:254],
            changes=changes,
            at=utcnow(),
        )
    )
    outbox.enqueue(session, account_id, seq, KINDS[action])


def events(session: Session, account_id: int, customer_id: int, limit: int = 200) -> list[CustomerEvent]:
    stmt = (
        select(CustomerEvent)
        .where(CustomerEvent.account_id == account_id, CustomerEvent.customer_id == customer_id)
        .order_by(CustomerEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def last_event(session: Session, account_id: int, customer_id: int) -> CustomerEvent | None:
    found = events(session, account_id, customer_id, limit=1)
    return found[0] if found else None
