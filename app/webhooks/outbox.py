"""The outbox: a change's deliveries, written in the change's own transaction (history.record calls it)."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, literal, select
from sqlalchemy.orm import Session

from app.database.base import utcnow
from app.webhooks.models import PENDING, WebhookDelivery, WebhookEndpoint

ENDPOINTS: Table = WebhookEndpoint.__table__  # type: ignore[assignment]
DELIVERIES: Table = WebhookDelivery.__table__  # type: ignore[assignment]

# One statement whatever the number of endpoints (none, most often): a delivery for every endpoint of
# the account that takes changes of this type, paused ones included (they get them once resumed).
_ENQUEUE = insert(DELIVERIES).from_select(
    ["endpoint_id", "account_id", "seq", "status", "attempts", "error", "created_at"],
    select(
        ENDPOINTS.c.id, ENDPOINTS.c.account_id, bindparam("seq"), literal(PENDING), literal(0), literal(""), bindparam("now")
    ).where(ENDPOINTS.c.account_id == bindparam("account_id"), (" " + ENDPOINTS.c.events + " ").contains(bindparam("kind"))),
)


def enqueue(session: Session, account_id: int, seq: int, kind: str) -> None:
    """Deliveries of the change numbered ``seq`` (of type ``kind``: created, updated …) to the account's endpoints."""
    session.connection().execute(_ENQUEUE, {"account_id": account_id, "seq": seq, "kind": f" {kind} ", "now": utcnow()})
