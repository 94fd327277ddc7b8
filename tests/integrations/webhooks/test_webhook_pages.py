"""Webhook endpoints on the Integrations page: registered with a secret shown once, their log, Send again, Resume."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.pages import sign_in


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    monkeypatch.setenv("CLIENTELE_WEBHOOK_ALLOW", "127.0.0.1")
    monkeypatch.setenv("CLIENTELE_WEBHOOK_WORKER", "0")


def _csrf(page) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(client):
    from app.database.engine import get_engine
    from app.webhooks.delivery import Deliverer
    from tests.receiver import receiver

    signed = sign_in(client)
    page = client.get("/integrations")
    assert "New endpoint" in page.text
    with receiver() as hook:
        created = client.post("/integrations/webhooks", data={"url": hook.url, "events": ["created", "updated"], "_csrf_token": _csrf(page)})
        assert created.status_code == 200, created.text
        secret = re.search(r'id="endpoint-secret">(whsec_[^<]+)<', created.text).group(1)
        endpoint_id = int(re.search(r'/integrations/webhooks/(\d+)"', created.text).group(1))
        listed = client.get("/integrations")
        assert hook.url in listed.text and secret not in listed.text

        customer = client.post("/api/customers/", json={"company": "Acme"}, headers=signed.bearer).json()
        Deliverer(get_engine()).run_once()
        from app.webhooks.delivery import verify

        assert verify(secret, hook.received[0].headers["clientele-signature"], hook.received[0].body)
        detail = client.get(f"/integrations/webhooks/{endpoint_id}")
        assert detail.status_code == 200 and secret not in detail.text
        row = re.search(r'<tr id="delivery-(\d+)">(.*?)</tr>', detail.text, re.S)
        assert "delivered" in row.group(2) and "HTTP 200" in row.group(2)

        again = client.post(f"/integrations/webhooks/{endpoint_id}/deliveries/{row.group(1)}/send", data={"_csrf_token": _csrf(detail)}, follow_redirects=False)
        assert again.status_code == 303
        Deliverer(get_engine()).run_once()
        assert [r.change["customer_id"] for r in hook.received] == [customer["id"]] * 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "http://10.1.2.3/hook", "events": ["created"]}, "private, loopback or link-local"),
        ({"url": "not a url", "events": ["created"]}, "http:// or https://"),
        ({"url": "https://example.com/hook"}, "Choose at least one kind of change."),
    ],
)
def test_a_refused_endpoint_is_told_on_the_form(client, data, message):
    sign_in(client)
    page = client.get("/integrations")
    response = client.post("/integrations/webhooks", data={**data, "_csrf_token": _csrf(page)})
    assert response.status_code == 422
    assert message in response.text


def test_a_paused_endpoint_shows_why_and_resumes(client):
    from sqlalchemy import update

    from app.database.engine import session_scope
    from app.webhooks import service
    from app.webhooks.models import WebhookEndpoint

    signed = sign_in(client)
    with session_scope() as session:
        endpoint = service.register(session, signed.account_id, "http://127.0.0.1:9/hook", ["created"])
        session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(state="paused", failures=10, paused_reason="Paused after 10 failed attempts in a row. The last: HTTP 500"))
    listed = client.get("/integrations")
    assert "Paused: Paused after 10 failed attempts" in listed.text
    detail = client.get(f"/integrations/webhooks/{endpoint.id}")
    assert "HTTP 500" in detail.text and "Resume" in detail.text

    resumed = client.post(f"/integrations/webhooks/{endpoint.id}/resume", data={"_csrf_token": _csrf(detail)}, follow_redirects=False)

    assert resumed.status_code == 303
    assert ">Active<" in client.get(f"/integrations/webhooks/{endpoint.id}").text


def test_another_accounts_endpoint_is_404(client):
    from app.database.engine import session_scope
    from app.webhooks import service

    owner = sign_in(client)
    with session_scope() as session:
        endpoint = service.register(session, owner.account_id, "http://127.0.0.1:9/hook", ["created"])
    sign_in(client)
    page = client.get("/integrations")
    assert client.get(f"/integrations/webhooks/{endpoint.id}").status_code == 404
    assert client.post(f"/integrations/webhooks/{endpoint.id}/resume", data={"_csrf_token": _csrf(page)}).status_code == 404
