"""Delivering the outbox: a thread of the server's own (or ``clientele worker``) posts each pending
delivery to its endpoint, signed, in the order of the changes, until the endpoint answers 2xx.

- At least once: a delivery is marked delivered only after a 2xx answer. A worker stopped in
  between (a crash, a restart) leaves it pending, and it goes out again: the receiver tells a
  repeat by the change's ``id`` (in the body, and the ``Clientele-Event-Id`` header).
- In order: one worker at a time serves an endpoint (a lease on its row, renewed with each
  delivery and taken over once it runs out), oldest change first; a failure holds the
  endpoint's later deliveries back until it succeeds, so each customer's changes arrive in
  the order they were made.
- Retries: after a failure the endpoint is tried again after CLIENTELE_WEBHOOK_RETRY seconds,
  doubled with each failure in a row (at most an hour); after CLIENTELE_WEBHOOK_FAILURES
  failures in a row it is paused, with the reason shown on the Integrations page, until an
  admin resumes it. Changes keep being queued for it meanwhile.
- Signed: ``Clientele-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`` with the
  endpoint's secret (``verify`` below checks one).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from litestar.serialization import encode_json
from sqlalchemy import Engine, Table, exists, or_, select, update

from app.accounts.models import Account
from app.api.versions import CURRENT_VERSION
from app.customers import feed
from app.database.base import utcnow
from app.database.engine import get_engine, rowcount, session_factory, write_connection
from app.webhooks import targets
from app.webhooks.models import ACTIVE, DELIVERED, PAUSED, PENDING
from app.webhooks.outbox import DELIVERIES, ENDPOINTS

logger = logging.getLogger("clientele.webhooks")

SIGNATURE_HEADER = "Clientele-Signature"
EVENT_ID_HEADER = "Clientele-Event-Id"
BATCH = 20
RETRY_AT_MOST = 3600.0


@dataclass(frozen=True)
class Settings:
    poll: float  # seconds between two looks at the outbox
    retry: float  # seconds before the first retry (doubled with each failure in a row)
    failures: int  # failures in a row that pause an endpoint
    lease: float  # seconds a worker holds an endpoint without renewing
    timeout: float  # seconds an endpoint has to answer


def _number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def settings() -> Settings:
    return Settings(
        poll=_number("CLIENTELE_WEBHOOK_POLL", 0.5),
        retry=_number("CLIENTELE_WEBHOOK_RETRY", 10.0),
        failures=int(_number("CLIENTELE_WEBHOOK_FAILURES", 10)),
        lease=_number("CLIENTELE_WEBHOOK_LEASE", 60.0),
        timeout=_number("CLIENTELE_WEBHOOK_TIMEOUT", 10.0),
    )


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    """Whether ``header`` (``Clientele-Signature``) signs ``body`` with ``secret``, made within ``tolerance`` seconds."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(expected, fields.get("v1", ""))


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST ``body`` to ``url`` (no redirects followed): the answer's status, or None and the error."""
    refused = targets.refusal(url)
    if refused:
        return None, refused
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    # The port always given: http.client reads a bare IPv6 host's last group as one otherwise.
    connection = kind(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), timeout=timeout)
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, headers)
        response = connection.getresponse()
        response.read(65536)
        return response.status, ""
    except (OSError, ValueError, http.client.HTTPException) as error:  # ValueError: http.client.InvalidURL
        return None, f"{type(error).__name__}: {error}"[:500]
    finally:
        connection.close()


E: Table = ENDPOINTS
D: Table = DELIVERIES
ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]


class Deliverer:
    """The outbox's delivering thread (started once per engine however many apps use it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._users = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users or self._thread is None:
                return
            self._stop.set()
            self._thread.join(timeout=30)
            self._thread = None

    def halt(self) -> None:
        """Make ``run`` return after the delivery in progress."""
        self._stop.set()

    def run(self) -> None:
        """Deliver until stopped (``clientele worker`` runs this in the foreground)."""
        warned = -60.0
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                busy = False
                if time.monotonic() - warned >= 60:  # a database that is down: once a minute
                    warned = time.monotonic()
                    logger.warning("webhook delivery failed", exc_info=True)
            if not busy:
                self._stop.wait(settings().poll)

    def run_once(self) -> bool:
        """Serve every endpoint with a delivery due; whether any was sent."""
        now = utcnow()
        due = (
            select(E.c.id)
            .where(
                E.c.state == ACTIVE,
                or_(E.c.retry_at.is_(None), E.c.retry_at <= now),
                or_(E.c.lease_until.is_(None), E.c.lease_until < now),
                exists().where(D.c.endpoint_id == E.c.id, D.c.status == PENDING),
            )
            .order_by(E.c.id)
        )
        with self.engine.connect() as connection:
            ids = list(connection.scalars(due))
            connection.rollback()
        sent = False
        for endpoint_id in ids:
            if self._stop.is_set():
                break
            sent = self._serve(endpoint_id) or sent
        return sent

    def _claim(self, endpoint_id: int) -> bool:
        now = utcnow()
        stmt = (
            update(E)
            .where(E.c.id == endpoint_id, E.c.state == ACTIVE, or_(E.c.lease_until.is_(None), E.c.lease_until < now))
            .values(lease_until=now + timedelta(seconds=settings().lease))
        )
        with write_connection(self.engine) as connection:
            return rowcount(connection.execute(stmt)) == 1

    def _serve(self, endpoint_id: int) -> bool:
        """Deliver an endpoint's pending deliveries in order, until one fails or none is left."""
        if not self._claim(endpoint_id):
            return False
        sent = False
        try:
            while not self._stop.is_set():
                with session_factory(self.engine)() as session:
                    connection = session.connection()
                    endpoint = connection.execute(
                        select(E.c.id, E.c.url, E.c.secret, E.c.account_id, E.c.state, ACCOUNTS.c.timezone)
                        .join(ACCOUNTS, ACCOUNTS.c.id == E.c.account_id)
                        .where(E.c.id == endpoint_id)
                    ).first()
                    if endpoint is None or endpoint.state != ACTIVE:
                        return sent
                    pending = connection.execute(
                        select(D.c.id, D.c.seq).where(D.c.endpoint_id == endpoint_id, D.c.status == PENDING).order_by(D.c.seq, D.c.id).limit(BATCH)
                    ).all()
                    if not pending:
                        return sent
                    changes = {c.id: c for c in feed.numbered(session, endpoint.account_id, [p.seq for p in pending], CURRENT_VERSION, endpoint.timezone)}
                    session.rollback()
                for delivery in pending:
                    change = changes.get(delivery.seq)
                    body = encode_json(change) if change is not None else b""
                    timestamp = int(time.time())
                    headers = {
                        "Content-Type": "application/json",
                        "User-Agent": "Clientele-Webhooks",
                        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
                        EVENT_ID_HEADER: str(delivery.seq),
                        "Clientele-Event-Type": change.type if change is not None else "",
                    }
                    code, error = post(endpoint.url, body, headers, settings().timeout) if change is not None else (None, "The change is no longer stored.")
                    ok = code is not None and 200 <= code < 300
                    self._record(endpoint_id, delivery.id, ok, code, error or ("" if ok else f"HTTP {code}"))
                    if not ok:
                        return sent
                    sent = True
        finally:
            with write_connection(self.engine) as connection:
                connection.execute(update(E).where(E.c.id == endpoint_id).values(lease_until=None))
        return sent

    def _record(self, endpoint_id: int, delivery_id: int, ok: bool, code: int | None, error: str) -> None:
        now = utcnow()
        with write_connection(self.engine) as connection:
            connection.execute(
                update(D)
                .where(D.c.id == delivery_id)
                .values(
                    attempts=D.c.attempts + 1, response_code=code, error=error,
                    **({"status": DELIVERED, "delivered_at": now} if ok else {}),
                )
            )
            if ok:  # and the lease renewed, in the same transaction
                lease = now + timedelta(seconds=settings().lease)
                connection.execute(update(E).where(E.c.id == endpoint_id).values(failures=0, retry_at=None, lease_until=lease))
                return
            failures = connection.execute(
                update(E).where(E.c.id == endpoint_id).values(failures=E.c.failures + 1).returning(E.c.failures)
            ).scalar_one()
            conf = settings()
            delay = min(conf.retry * 2 ** (failures - 1), RETRY_AT_MOST)
            values: dict[str, object] = {"retry_at": now + timedelta(seconds=delay)}
            if failures >= conf.failures:
                values.update(state=PAUSED, paused_reason=f"Paused at {now:%Y-%m-%d %H:%M} UTC after {failures} failed attempts in a row. The last: {error}")
            connection.execute(update(E).where(E.c.id == endpoint_id).values(**values))


@lru_cache(maxsize=4)
def deliverer(engine: Engine | None = None) -> Deliverer:
    return Deliverer(engine or get_engine())


def start_in_server() -> None:
    """The server delivers webhooks itself unless CLIENTELE_WEBHOOK_WORKER=0 (``clientele worker`` runs elsewhere)."""
    if os.environ.get("CLIENTELE_WEBHOOK_WORKER", "1") != "0":
        deliverer().start()


def stop_in_server() -> None:
    deliverer().stop()
