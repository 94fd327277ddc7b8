"""Webhooks: the outbox written with each change, delivered signed and in order, retried,
paused when an endpoint keeps failing, and refused on private addresses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.webhooks.models import WebhookDelivery
from tests.conftest import make_shop
from tests.receiver import receiver


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    monkeypatch.setenv("CLIENTELE_WEBHOOK_ALLOW", "127.0.0.1")
    monkeypatch.setenv("CLIENTELE_WEBHOOK_FAILURES", "3")
    monkeypatch.setenv("CLIENTELE_WEBHOOK_WORKER", "0")  # the tests run the worker's rounds themselves


def _worker():
    from app.database.engine import get_engine
    from app.webhooks.delivery import Deliverer

    return Deliverer(get_engine())


def _register(account_id: int, url: str, events=("created", "updated", "deleted", "restored")):
    from app.database.engine import session_scope
    from app.webhooks import service

    with session_scope() as session:
        endpoint = service.register(session, account_id, url, list(events))
        return endpoint.id, endpoint.secret


def _create(account_id: int, **fields) -> int:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        return service.create(session, account_id, {"first_name": "Ada", "last_name": "Lovelace", **fields}).id


def _update(account_id: int, customer_id: int, **fields) -> None:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        customer = service.get_for_update(session, account_id, customer_id)
        service.update_customer(session, customer, fields)


def _endpoint(endpoint_id: int):
    from app.database.engine import session_scope
    from app.webhooks.models import WebhookEndpoint

    with session_scope() as session:
        return session.get(WebhookEndpoint, endpoint_id)


def _deliveries(endpoint_id: int):
    from app.database.engine import session_scope
    from app.webhooks.models import WebhookDelivery

    with session_scope() as session:
        return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.seq)))


def _retry_now(endpoint_id: int) -> None:
    """The backoff's wait, passed (the test does not sleep through it)."""
    from app.database.base import utcnow
    from app.database.engine import session_scope
    from app.webhooks.models import WebhookEndpoint

    with session_scope() as session:
        session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(retry_at=utcnow() - timedelta(seconds=1)))


def test_each_change_is_delivered_signed_in_order_as_the_feed_shows_it(client):
    from app.webhooks.delivery import verify

    shop = make_shop()
    with receiver() as hook:
        endpoint_id, secret = _register(shop.id, hook.url)
        ada = _create(shop.id)
        _update(shop.id, ada, note="first")
        bob = _create(shop.id, company="Acme")
        assert [d.seq for d in _deliveries(endpoint_id)] == [1, 2, 3]  # queued with the changes

        _worker().run_once()

        assert hook.ids() == [1, 2, 3]
        feed = client.get("/api/customers/changes/", headers=shop.headers).json()["data"]
        for got, change in zip(hook.received, feed, strict=True):
            assert verify(secret, got.headers["clientele-signature"], got.body)
            assert not verify("whsec_other", got.headers["clientele-signature"], got.body)
            assert not verify(secret, got.headers["clientele-signature"], got.body.replace(b"Ada", b"Eve"))
            assert got.headers["clientele-event-id"] == str(change["id"])
            assert got.change == change
        assert [r.change["customer_id"] for r in hook.received] == [ada, ada, bob]
        logged = _deliveries(endpoint_id)
        assert [(d.status, d.attempts, d.response_code) for d in logged] == [("delivered", 1, 200)] * 3


def test_a_change_rolled_back_leaves_nothing_in_the_outbox():
    from app.customers import history, service
    from app.database.engine import begin_write, session_factory
    from app.shared.audit import SYSTEM

    shop = make_shop()
    with receiver() as hook:
        endpoint_id, _ = _register(shop.id, hook.url)
        with session_factory()() as session:
            begin_write(session)
            _, seq = service._account_change(session, shop.id)
            history.record(session, seq, 1, shop.id, "update", SYSTEM, {})
            assert session.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one() >= 1
            session.rollback()
        assert _deliveries(endpoint_id) == []


def test_only_the_kinds_of_change_chosen_and_only_the_accounts_own(client):
    shop, other = make_shop(), make_shop()
    with receiver() as hook:
        _register(shop.id, hook.url, events=("deleted",))
        ada = _create(shop.id)
        _create(other.id)
        assert client.delete(f"/api/customers/{ada}/", headers=shop.headers).status_code == 200

        _worker().run_once()

        assert [(r.change["type"], r.change["customer_id"]) for r in hook.received] == [("deleted", ada)]


def test_a_failure_holds_later_changes_back_retries_with_backoff_then_pauses():
    shop = make_shop()
    with receiver() as hook:
        endpoint_id, _ = _register(shop.id, hook.url)
        ada = _create(shop.id)
        _update(shop.id, ada, note="second")
        hook.answers = [500]
        worker = _worker()

        worker.run_once()

        first, second = _deliveries(endpoint_id)
        assert (first.status, first.attempts, first.response_code, first.error) == ("pending", 1, 500, "HTTP 500")
        assert second.attempts == 0  # in order: nothing after a failed change goes first
        endpoint = _endpoint(endpoint_id)
        assert endpoint.failures == 1 and endpoint.retry_at is not None and endpoint.state == "active"
        worker.run_once()
        assert _deliveries(endpoint_id)[0].attempts == 1  # not before its retry time

        hook.answers = [502, 503]
        _retry_now(endpoint_id)
        worker.run_once()
        first_wait = _endpoint(endpoint_id).retry_at
        _retry_now(endpoint_id)
        worker.run_once()

        endpoint = _endpoint(endpoint_id)
        assert endpoint.failures == 3 and endpoint.state == "paused"
        assert "3 failed attempts in a row" in endpoint.paused_reason and "HTTP 503" in endpoint.paused_reason
        assert first_wait is not None and hook.received == []

        from app.database.engine import session_scope
        from app.webhooks import service

        with session_scope() as session:
            assert service.resume(session, shop.id, endpoint_id)
        worker.run_once()
        assert hook.ids() == [1, 2]
        assert [(d.status, d.attempts) for d in _deliveries(endpoint_id)] == [("delivered", 4), ("delivered", 1)]


def test_the_backoff_doubles_with_each_failure(monkeypatch):
    from app.database.base import utcnow

    monkeypatch.setenv("CLIENTELE_WEBHOOK_RETRY", "100")
    monkeypatch.setenv("CLIENTELE_WEBHOOK_FAILURES", "10")
    shop = make_shop()
    with receiver() as hook:
        endpoint_id, _ = _register(shop.id, hook.url)
        _create(shop.id)
        hook.answers = [500, 500, 500]
        waits = []
        for _ in range(3):
            before = utcnow()
            _worker().run_once()
            waits.append((_endpoint(endpoint_id).retry_at - before).total_seconds())
            _retry_now(endpoint_id)
        assert [round(w, -1) for w in waits] == [100, 200, 400]


def test_send_again_delivers_the_same_change_once_more():
    from app.database.engine import session_scope
    from app.webhooks import service

    shop = make_shop()
    with receiver() as hook:
        endpoint_id, _ = _register(shop.id, hook.url)
        _create(shop.id)
        _worker().run_once()
        delivery = _deliveries(endpoint_id)[0]
        with session_scope() as session:
            assert service.send_again(session, shop.id, endpoint_id, delivery.id)
            assert not service.send_again(session, make_shop().id, endpoint_id, delivery.id)  # another account's: no

        _worker().run_once()

        assert hook.ids() == [1, 1]  # a repeat, told by its id
        assert _deliveries(endpoint_id)[0].attempts == 2


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/hook", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://127.0.0.2/",
     "http://0.0.0.0/", "http://100.64.0.1/", "ftp://example.com/", "http://user:pw@example.com/", "http://[::ffff:10.0.0.1]/",
     # IPv6 forms that stand for an IPv4 address: NAT64, 6to4, IPv4-compatible, IPv4-translated
     "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a00:1]/", "http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::]/",
     "http://[::127.0.0.1]/", "http://[::ffff:0:7f00:1]/"],
)
def test_private_loopback_and_link_local_targets_are_refused(url):
    from app.webhooks.targets import refusal

    assert refusal(url) is not None


def test_ipv6_forms_of_public_ipv4_addresses_are_allowed():
    from app.webhooks.targets import refusal

    assert refusal("http://[64:ff9b::808:808]/") is None  # NAT64 of 8.8.8.8
    assert refusal("http://[2002:808:808::1]/") is None  # 6to4 of 8.8.8.8


def test_an_ipv6_host_without_a_port_is_posted_to_its_scheme_port(monkeypatch):
    """http.client read the last group of a bare IPv6 host as a port ("nonnumeric port"), an error outside
    the delivery's own handling: the endpoint failed without a recorded answer."""
    from app.webhooks import delivery

    monkeypatch.setenv("CLIENTELE_WEBHOOK_ALLOW", "::1")
    status, error = delivery.post("http://[::1]/hook", b"{}", {}, timeout=2)
    assert status is None and "nonnumeric" not in error and error  # refused or unreachable on port 80, not a bad URL


def test_the_setting_allows_exactly_what_it_names(monkeypatch):
    from app.webhooks.targets import refusal

    assert refusal("http://127.0.0.1:9/hook") is None
    assert refusal("http://localhost:9/hook") is None  # a name that resolves to it
    assert refusal("http://127.0.0.2:9/hook") is not None
    monkeypatch.delenv("CLIENTELE_WEBHOOK_ALLOW")
    assert refusal("http://127.0.0.1:9/hook") is not None
    assert refusal("http://localhost:9/hook") is not None


def test_a_target_refused_at_delivery_is_a_failure_and_nothing_is_sent(monkeypatch):
    shop = make_shop()
    with receiver() as hook:
        endpoint_id, _ = _register(shop.id, hook.url)
        _create(shop.id)
        monkeypatch.delenv("CLIENTELE_WEBHOOK_ALLOW")  # as if the name now resolved to a private address

        _worker().run_once()

        assert hook.received == []
        delivery = _deliveries(endpoint_id)[0]
        assert delivery.status == "pending" and "not allowed" in delivery.error and delivery.response_code is None


def test_the_readmes_receiver_verifies_a_real_delivery():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    code = re.search(r"\n( +)(import hashlib, hmac, json, time\n.*?)\n\n +# in the receiving", readme, re.S)
    indent = len(code.group(1))
    namespace: dict = {}
    exec("\n".join(line[indent:] for line in (code.group(1) + code.group(2)).splitlines()), namespace)  # noqa: S102 - the README's own example
    shop = make_shop()
    with receiver() as hook:
        _, secret = _register(shop.id, hook.url)
        _create(shop.id)
        _worker().run_once()
        got = hook.received[0]
        assert namespace["verify"](secret, got.headers["clientele-signature"], got.body)
        assert not namespace["verify"](secret, got.headers["clientele-signature"], got.body + b" ")
