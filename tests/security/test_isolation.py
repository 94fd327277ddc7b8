"""Accounts are isolated: account B's credentials against account A's ids answer
404 (exactly what a missing id answers) and change nothing, on every API
endpoint and every back-office page and action.

The routes are read from the application itself, so a new page or action with
an id in its path is covered as soon as it exists; one whose parameter this
file does not know fails the test until it gets a case here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.security import (
    Account,
    assert_envelope,
    csrf_of,
    fill_path,
    get_token,
    make_account,
    make_app,
    page_routes,
    sign_in,
    snapshot,
)

MISSING_INT = 2_000_000_000
SAFE = {"GET", "HEAD", "OPTIONS"}
MALLORY = {
    "first_name": "Mallory",
    "last_name": "Mallory",
    "company": "Mallory Ltd",
    "email": "mallory@example.com",
    "name": "Mallory",
    "role": "admin",
    "password": "mallory's long password",
    "value": "1",
    "note": "changed by another account",
}


def changed(world, before: dict[str, list[tuple]]) -> list[str]:
    """The tables in which account A's rows differ from ``before``."""
    after = snapshot(world.a.id)
    return [name for name in before if after.get(name) != before[name]]


def leaks(world, text: str) -> list[str]:
    """What of account A's a response shows."""
    secrets = ("Aardvarkian", "Alpha Secret", "Zyxwarbler", world.a.staff_email, world.a_app.client_id, "Alpha integration")
    return [s for s in secrets if s in text]


class World:
    """Account A with something of every kind; account B signed in and holding tokens."""

    def __init__(self, app) -> None:
        from litestar.testing import TestClient

        self.a: Account = make_account()
        self.b: Account = make_account()
        self.api = TestClient(app, raise_server_exceptions=False).__enter__()
        create = lambda **f: self.api.post("/api/customers/", json=f, headers=self.a.bearer).json()["id"]
        self.a_customer = create(first_name="Alice", last_name="Aardvarkian", company="Alpha Secret GmbH", is_favourite=True)
        self.a_trashed = create(first_name="Trudy", last_name="Zyxwarbler")
        assert self.api.delete(f"/api/customers/{self.a_trashed}/", headers=self.a.bearer).status_code == 200
        from app.accounts.models import User
        from app.database.engine import session_scope

        staff_email = self.a.staff_email
        with session_scope() as session:
            self.a_user = session.scalar(select(User.id).where(User.email == staff_email))
        self.a_app = make_app(self.a.id, name="Alpha integration")
        from tests.security.test_roles_and_csrf import webhook_with_delivery

        self.a_endpoint, self.a_delivery = webhook_with_delivery(self.api, self.a)
        self.a_oauth = get_token(self.api, self.a_app)
        from app.accounts.tokens import hash_token
        from app.integrations.models import OAuthToken

        with session_scope() as session:
            self.a_family = session.scalar(select(OAuthToken.family).where(OAuthToken.token_hash == hash_token(self.a_oauth["access_token"])))
        self.b_oauth = get_token(self.api, make_app(self.b.id))["access_token"]
        self.browser = TestClient(app, raise_server_exceptions=False).__enter__()
        sign_in(self.browser, self.b.admin_email)

    def close(self) -> None:
        self.browser.__exit__(None, None, None)
        self.api.__exit__(None, None, None)

    def ids_for(self, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Path parameters naming A's things, and the same naming nothing at all."""
        ours: dict[str, Any] = {}
        missing: dict[str, Any] = {}
        for name in re.findall(r"{(\w+):\w+}", path):
            if name == "item_id" and path.startswith("/customers/trash/"):
                ours[name], missing[name] = self.a_trashed, MISSING_INT
            elif name == "item_id" and path.startswith("/customers/"):
                ours[name], missing[name] = self.a_customer, MISSING_INT
            elif name == "item_id" and path.startswith("/users/"):
                ours[name], missing[name] = self.a_user, MISSING_INT
            elif name == "app_id" and path.startswith("/integrations/"):
                ours[name], missing[name] = self.a_app.id, MISSING_INT
            elif name == "endpoint_id":
                ours[name], missing[name] = self.a_endpoint, MISSING_INT
            elif name == "delivery_id":
                ours[name], missing[name] = self.a_delivery, MISSING_INT
            elif name == "family":
                ours[name], missing[name] = self.a_family, "f" * 32
            elif name == "field_name":
                ours[name] = missing[name] = "is_favourite"
            else:
                pytest.fail(f"{path}: no isolation case for the parameter {name!r}; add one to tests/security/test_isolation.py")
        return ours, missing


@pytest.fixture(scope="module")
def world(app) -> World:
    world = World(app)
    yield world
    world.close()


def _where_to(response, params: dict[str, Any]) -> str | None:
    """The redirect target, with the ids of the request replaced by a placeholder."""
    location = response.headers.get("location")
    if location is None:
        return None
    for value in params.values():
        location = location.replace(str(value), "{id}")
    return location


def _request(client, method: str, url: str, htmx: bool):
    headers = {"HX-Request": "true"} if htmx else {}
    if method in SAFE:
        return client.request(method, url, headers=headers, follow_redirects=False)
    token = csrf_of(client)
    return client.request(method, url, data={**MALLORY, "_csrf_token": token}, headers={**headers, "x-csrftoken": token}, follow_redirects=False)


def test_every_page_and_action_with_an_id_answers_b_as_if_a_s_thing_did_not_exist(app, world):
    routes = [(m, p) for m, p in page_routes(app) if "{" in p]
    assert len(routes) >= 15, routes
    before = snapshot(world.a.id)
    checked = []
    for method, path in routes:
        ours, missing = world.ids_for(path)
        for htmx in (False, True):
            probe = _request(world.browser, method, fill_path(path, missing), htmx)
            answer = _request(world.browser, method, fill_path(path, ours), htmx)
            where = f"{method} {path} (htmx={htmx})"
            assert answer.status_code == probe.status_code, (where, answer.status_code, probe.status_code)
            assert answer.status_code == 404 or probe.status_code != 404, where
            assert answer.status_code >= 300, where
            assert _where_to(answer, ours) == _where_to(probe, missing), where
            assert not leaks(world, answer.text), (where, leaks(world, answer.text))
            assert not changed(world, before), f"{where} changed account A's data: {changed(world, before)}"
            checked.append((where, answer.status_code))
    not_404 = [c for c in checked if c[1] != 404]
    # Only redirects that a missing id gets too (a plain request to an htmx-only view; an empty trash).
    assert all(300 <= status < 400 for _, status in not_404), not_404


def test_bulk_actions_with_a_s_ids_change_nothing(app, world):
    from app.accounts.pages import USERS
    from app.customers.pages import CUSTOMERS

    before = snapshot(world.a.id)
    for resource, ids in ((CUSTOMERS, [world.a_customer, world.a_trashed]), (USERS, [world.a_user])):
        for action in (a.name for a in resource.bulk_actions):
            for confirm in ("", "1"):
                token = csrf_of(world.browser)
                data = [("action", action), ("confirm", confirm), ("_csrf_token", token), *(("ids", str(i)) for i in ids)]
                response = world.browser.post(f"/{resource.name}/bulk", data=data, follow_redirects=False)
                assert response.status_code < 500, (resource.name, action)
                assert not leaks(world, response.text), (resource.name, action, leaks(world, response.text))
        assert not changed(world, before), f"a bulk action on /{resource.name} changed account A's data"


def test_lists_prints_and_exports_of_b_show_nothing_of_a(app, world):
    for method, path in page_routes(app):
        if method != "GET" or "{" in path:
            continue
        for query in ("", "?q=Alice", "?q=Trudy"):
            response = world.browser.get(path + query)
            assert response.status_code in (200, 303, 302, 404), (path, response.status_code)
            assert not leaks(world, response.text), (path + query, leaks(world, response.text))


@pytest.mark.parametrize("token_kind", ["static", "oauth"])
def test_every_api_endpoint_answers_b_404_for_a_s_customer_and_changes_nothing(world, token_kind):
    headers = world.b.bearer if token_kind == "static" else {"Authorization": f"Bearer {world.b_oauth}"}
    before = snapshot(world.a.id)
    url = f"/api/customers/{world.a_customer}/"

    assert_envelope(world.api.get(url, headers=headers), 404, "common.unknown")
    assert_envelope(world.api.put(url, json={"first_name": "Mallory"}, headers=headers), 404, "common.unknown")
    assert_envelope(world.api.put(url, json={"channel": "x", "email": "bad"}, headers=headers), 404, "common.unknown")
    assert_envelope(world.api.delete(url, headers=headers), 404, "common.unknown")
    assert_envelope(world.api.get(f"/api/customers/{world.a_trashed}/", headers=headers), 404, "common.unknown")
    for listing in ("/api/customers/", "/api/customers/favourites/", "/api/customers/?search=Alice", "/api/customers/?search=Alpha"):
        response = world.api.get(listing, headers=headers)
        assert response.status_code == 200
        assert world.a_customer not in [c["id"] for c in response.json()["data"]]
        assert not leaks(world, response.text), leaks(world, response.text)
    assert not changed(world, before), changed(world, before)


def test_a_s_refresh_token_is_refused_to_b_s_app_and_stays_usable_for_a(world):
    b_app = make_app(world.b.id, name="B's app")
    refused = world.api.post(
        "/api/auth/token/", data={"grant_type": "refresh_token", "refresh_token": world.a_oauth["refresh_token"]}, headers=b_app.basic
    )

    assert_envelope(refused, 400, "auth.invalid_grant")
    assert world.api.get("/api/customers/", headers={"Authorization": f"Bearer {world.a_oauth['access_token']}"}).status_code == 200
