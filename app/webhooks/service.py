"""An account's webhook endpoints and their delivery log, as the Integrations page manages them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.shared.inputs import MAX_ID
from app.webhooks.models import ACTIVE, DELIVERED, PENDING, WebhookDelivery, WebhookEndpoint

EVENT_TYPES = ("created", "updated", "deleted", "restored")
LOG_SIZE = 50


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def register(session: Session, account_id: int, url: str, events: list[str]) -> WebhookEndpoint:
    """A new endpoint (its secret is the caller's to show, once)."""
    endpoint = WebhookEndpoint(
        account_id=account_id, url=url, events=" ".join(e for e in EVENT_TYPES if e in events), secret=new_secret(),
        state=ACTIVE, paused_reason="", failures=0,
    )
    session.add(endpoint)
    session.commit()
    return endpoint


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    pending: int


def endpoints(session: Session, account_id: int) -> list[EndpointRow]:
    pending = (
        select(WebhookDelivery.endpoint_id, func.count().label("n"))
        .where(WebhookDelivery.account_id == account_id, WebhookDelivery.status == PENDING)
        .group_by(WebhookDelivery.endpoint_id)
        .subquery()
    )
    stmt = (
        select(WebhookEndpoint, func.coalesce(pending.c.n, 0))
        .outerjoin(pending, pending.c.endpoint_id == WebhookEndpoint.id)
        .where(WebhookEndpoint.account_id == account_id)
        .order_by(WebhookEndpoint.id)
    )
    return [EndpointRow(e, n) for e, n in session.execute(stmt)]


def _ids(*ids: int) -> bool:
    """Ids an id column can hold (a larger one names nothing)."""
    return all(0 < i <= MAX_ID for i in ids)


def get(session: Session, account_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    if not _ids(endpoint_id):
        return None
    return session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id, WebhookEndpoint.id == endpoint_id))


def log(session: Session, endpoint_id: int, limit: int = LOG_SIZE) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def send_again(session: Session, account_id: int, endpoint_id: int, delivery_id: int) -> bool:
    """Deliver a delivery again (it goes out in the order of its change, before later ones still pending)."""
    if not _ids(endpoint_id, delivery_id):
        return False
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.account_id == account_id)
        .values(status=PENDING, delivered_at=None)
    )
    session.commit()
    return bool(getattr(done, "rowcount", 0))


def resume(session: Session, account_id: int, endpoint_id: int) -> bool:
    """A paused endpoint is tried again at once; what waited for it goes out in order."""
    if not _ids(endpoint_id):
        return False
    done = session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.account_id == account_id)
        .values(state=ACTIVE, paused_reason="", failures=0, retry_at=None)
    )
    session.commit()
    return bool(getattr(done, "rowcount", 0))


def remove(session: Session, account_id: int, endpoint_id: int) -> bool:
    endpoint = get(session, account_id, endpoint_id)
    if endpoint is None:
        return False
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    session.delete(endpoint)
    session.commit()
    return True


__all__ = ["DELIVERED", "EVENT_TYPES", "PENDING", "endpoints", "get", "log", "register", "remove", "resume", "send_again"]
