"""Roles and CSRF, checked on every route the application has.

- Staff cannot reach any admin page or action (read from each route's ``roles``);
  the server answers 403 and changes nothing.
- Every state-changing page request without a valid CSRF token is refused:
  no token, a forged one, or another browser's.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.security import (
    Account,
    csrf_of,
    fill_path,
    make_account,
    make_app,
    page_routes,
    sign_in,
    snapshot,
)

SAFE = {"GET", "HEAD", "OPTIONS"}
FORM = {"first_name": "Eve", "last_name": "Eve", "email": "eve@example.com", "name": "Eve", "role": "admin", "password": "eve's long password", "value": "1", "action": "delete", "confirm": "1"}


def webhook_with_delivery(api, account) -> tuple[int, int]:
    """An endpoint of the account's (on an address nothing listens to) and one delivery of it."""
    from app.database.engine import session_scope
    from app.webhooks import service
    from app.webhooks.models import WebhookDelivery

    with session_scope() as session:
        endpoint_id = service.register(session, account.id, "http://127.0.0.1:9/hook", ["created"]).id
    api.post("/api/customers/", json={"company": "Queued"}, headers=account.bearer)
    with session_scope() as session:
        return endpoint_id, session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id))


class Shop:
    def __init__(self, app) -> None:
        from litestar.testing import TestClient

        from app.accounts.models import User
        from app.database.engine import session_scope

        self.account: Account = make_account()
        self.api = TestClient(app, raise_server_exceptions=False).__enter__()
        self.endpoint, self.delivery = webhook_with_delivery(self.api, self.account)
        self.customer = self.api.post("/api/customers/", json={"first_name": "Carl", "last_name": "Customer"}, headers=self.account.bearer).json()["id"]
        self.trashed = self.api.post("/api/customers/", json={"first_name": "Tom", "last_name": "Trash"}, headers=self.account.bearer).json()["id"]
        self.api.delete(f"/api/customers/{self.trashed}/", headers=self.account.bearer)
        admin_email, staff_email = self.account.admin_email, self.account.staff_email
        with session_scope() as session:
            self.admin_id = session.scalar(select(User.id).where(User.email == admin_email))
        self.app = make_app(self.account.id)
        from tests.fixtures.security import get_token

        get_token(self.api, self.app)
        from app.integrations import service

        with session_scope() as session:
            self.family = service.grants(session, self.account.id, self.app.id)[0].family
        self.admin = TestClient(app, raise_server_exceptions=False).__enter__()
        sign_in(self.admin, admin_email)
        self.staff = TestClient(app, raise_server_exceptions=False).__enter__()
        sign_in(self.staff, staff_email)

    def params(self, path: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        import re

        for name in re.findall(r"{(\w+):\w+}", path):
            if name == "item_id":
                values[name] = self.admin_id if path.startswith("/users") else (self.trashed if "/trash/" in path else self.customer)
            elif name == "app_id":
                values[name] = self.app.id
            elif name == "endpoint_id":
                values[name] = self.endpoint
            elif name == "delivery_id":
                values[name] = self.delivery
            elif name == "family":
                values[name] = self.family
            elif name == "field_name":
                values[name] = "is_favourite"
            else:
                pytest.fail(f"{path}: no case for the parameter {name!r} in tests/security/test_roles_and_csrf.py")
        return values

    def close(self) -> None:
        for client in (self.staff, self.admin, self.api):
            client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def shop(app):
    shop = Shop(app)
    yield shop
    shop.close()


def admin_only(app) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        for method, entry in getattr(route, "route_handler_map", {}).items():
            handler = entry[0] if isinstance(entry, tuple) else entry
            roles = handler.opt.get("roles")
            if method not in ("OPTIONS", "HEAD") and roles and "staff" not in roles:
                routes.append((method, route.path))
    return sorted(routes)


def test_the_admin_pages_are_users_and_integrations(app):
    prefixes = {path.split("/")[1] for _, path in admin_only(app)}
    assert {"users", "integrations"} <= prefixes
    assert "customers" not in prefixes


def test_staff_gets_403_on_every_admin_page_and_action_and_changes_nothing(app, shop):
    before = snapshot(shop.account.id)
    for method, path in admin_only(app):
        url = fill_path(path, shop.params(path))
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            if method in SAFE:
                response = shop.staff.request(method, url, headers=headers, follow_redirects=False)
            else:
                token = csrf_of(shop.staff)
                response = shop.staff.request(method, url, data={**FORM, "_csrf_token": token}, headers={**headers, "x-csrftoken": token}, follow_redirects=False)
            assert response.status_code == 403, (method, url, htmx, response.status_code)
    after = snapshot(shop.account.id)
    assert [t for t in before if before[t] != after.get(t)] == []


def test_admins_reach_the_admin_pages_and_staff_the_customers(shop):
    assert shop.admin.get("/users").status_code == 200
    assert shop.admin.get("/integrations").status_code == 200
    assert shop.admin.get(f"/integrations/{shop.app.id}").status_code == 200
    page = shop.staff.get("/customers")
    assert page.status_code == 200
    assert 'href="/users"' not in page.text and 'href="/integrations"' not in page.text
    assert 'href="/integrations"' in shop.admin.get("/customers").text


def state_changing(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if route.path.startswith(("/api/", "/static", "/schema")):
            continue
        for method in getattr(route, "route_handler_map", {}):
            if method not in SAFE:
                found.append((method, route.path))
    return sorted(found)


@pytest.mark.parametrize("how", ["no token", "forged token", "another browser's token", "token without cookie"])
def test_every_state_changing_page_request_without_a_valid_csrf_token_is_refused(app, shop, new_client, how):
    routes = state_changing(app)
    assert ("POST", "/login") in routes and ("POST", "/logout") in routes and ("POST", "/integrations") in routes
    stranger = new_client()
    stranger_token = csrf_of(stranger)
    before = snapshot(shop.account.id)
    for method, path in routes:
        url = fill_path(path, shop.params(path))
        for htmx in (False, True):
            data: dict[str, Any] = dict(FORM)
            headers = {"HX-Request": "true"} if htmx else {}
            client = shop.admin
            if how == "forged token":
                data["_csrf_token"] = headers["x-csrftoken"] = "A" * 64 + "0" * 64
            elif how == "another browser's token":
                data["_csrf_token"] = headers["x-csrftoken"] = stranger_token
            elif how == "token without cookie":
                token = csrf_of(shop.admin)
                cookie = shop.admin.cookies.pop("clientele_csrf")
                try:
                    response = shop.admin.request(method, url, data={**data, "_csrf_token": token}, headers={**headers, "x-csrftoken": token}, follow_redirects=False)
                finally:
                    shop.admin.cookies.set("clientele_csrf", cookie)
                assert response.status_code == 403, (how, method, url, htmx, response.status_code)
                continue
            response = client.request(method, url, data=data, headers=headers, follow_redirects=False)
            assert response.status_code == 403, (how, method, url, htmx, response.status_code)
    after = snapshot(shop.account.id)
    assert [t for t in before if before[t] != after.get(t)] == []
    # The session survived every refused logout.
    assert shop.admin.get("/customers", follow_redirects=False).status_code == 200


def test_a_valid_token_is_accepted_so_the_refusals_above_are_about_the_token(shop):
    token = csrf_of(shop.admin)
    response = shop.admin.post(f"/customers/{shop.customer}/toggle/is_favourite", data={"value": "1", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_the_token_endpoint_and_the_api_need_no_csrf_token_as_no_cookie_authenticates_them(client, shop):
    # Sent with the admin's cookies and no token: the API ignores cookies altogether.
    response = shop.admin.post("/api/customers/", json={"first_name": "X", "last_name": "Y"})
    assert response.status_code == 401


def test_every_back_office_route_asks_an_anonymous_visitor_to_sign_in(app, shop, new_client):
    """Each handler resolves the signed-in actor (which checks the role): none forgot to."""
    anonymous = new_client()
    token = csrf_of(anonymous)
    routes = [(m, p) for m, p in page_routes(app) if p != "/"]
    assert len(routes) > 20
    for method, path in routes:
        url = fill_path(path, shop.params(path))
        if method in SAFE:
            response = anonymous.request(method, url, follow_redirects=False)
        else:
            response = anonymous.request(method, url, data={**FORM, "_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), (method, url, response.status_code)
