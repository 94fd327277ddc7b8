"""Webhook endpoints of an account and the outbox of their deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database.base import Base, UTCDateTime, utcnow

ACTIVE = "active"
PAUSED = "paused"
PENDING = "pending"
DELIVERED = "delivered"


class WebhookEndpoint(Base):
    """A URL that receives the account's changes of the kinds in ``events``, signed with ``secret``."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[str] = mapped_column(String(200))  # space-separated change types: created updated deleted restored
    # The signing key: the receiver holds it too. Shown once, when the endpoint is registered.
    secret: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default=ACTIVE)  # active | paused
    paused_reason: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts in a row
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # after a failure: the next attempt
    # A delivering worker's hold on the endpoint (one worker delivers an endpoint's changes, in order).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_webhook_endpoints_account_id", "account_id"), {"sqlite_autoincrement": True})

    @property
    def event_list(self) -> list[str]:
        return self.events.split()


class WebhookDelivery(Base):
    """One change to post to one endpoint: written in the transaction of the change (the outbox),
    then tried until the endpoint answers 2xx. Its log: attempts, the last answer's status or error."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)  # the change's number in the account (customer_events.seq)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)  # pending | delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        # The next pending delivery of an endpoint, in the order of the changes.
        Index("ix_webhook_deliveries_endpoint_id_status_seq", "endpoint_id", "status", "seq"),
        # The log, newest first.
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )
