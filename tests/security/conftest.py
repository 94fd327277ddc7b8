"""The security wall: real requests against the real app (TestClient), and a real
browser against a uvicorn server for what only a browser can show (XSS, CSP).

Helpers here make accounts with an admin and a staff user, sign them in through
the login form, and create OAuth apps; every test uses accounts of its own.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from tests.server import serve

PASSWORD = "correct horse battery"
CSRF_COOKIE = "clientele_csrf"


# -- accounts, users and signed-in clients ----------------------------------------------


@dataclass
class Account:
    id: int
    name: str
    api_token: str  # a static token with every customers scope
    _emails: dict[str, str] = field(default_factory=dict)

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    def user(self, role: str) -> str:
        """The email of the account's user of that role, created on first use (hashing a password takes time)."""
        if role not in self._emails:
            from app.accounts import service as accounts
            from app.database.engine import session_scope

            email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
            with session_scope() as session:
                accounts.create_user(session, self.id, email, PASSWORD, role=role, name=role.capitalize())
            self._emails[role] = email
        return self._emails[role]

    @property
    def admin_email(self) -> str:
        return self.user("admin")

    @property
    def staff_email(self) -> str:
        return self.user("staff")


def make_account() -> Account:
    from app.accounts import service as accounts
    from app.accounts import tokens
    from app.database.engine import session_scope

    with session_scope() as session:
        account, _ = accounts.ensure_account(session, f"Shop {uuid.uuid4().hex[:10]}")
        token = tokens.issue(session, account.id, ["customers"])
        return Account(account.id, account.name, token)


@pytest.fixture
def account_a() -> Account:
    return make_account()


@pytest.fixture
def account_b() -> Account:
    return make_account()


def csrf_of(client) -> str:
    """The CSRF token of the client's browser session (set by any page it has loaded)."""
    token = client.cookies.get(CSRF_COOKIE)
    if token is None:
        client.get("/login")
        token = client.cookies.get(CSRF_COOKIE)
    assert token, "no CSRF cookie"
    return token


def sign_in(client, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": password, "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]


@pytest.fixture
def new_client(app):
    """A factory of TestClients (each a browser of its own, with its own cookies) on the shared app."""
    from litestar.testing import TestClient

    clients = []

    def make(base_url: str = "http://testserver.local"):
        client = TestClient(app, raise_server_exceptions=False, base_url=base_url)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def signed_in(new_client):
    """``signed_in(email)``: a client signed in as that user."""

    def make(email: str):
        client = new_client()
        sign_in(client, email)
        return client

    return make


# -- routes and data ---------------------------------------------------------------------------

SKIPPED_PREFIXES = ("/api/", "/static", "/schema")


def snapshot(account_id: int) -> dict[str, list[tuple]]:
    """Every row that belongs to the account, in every table with an account_id (and the account itself)."""
    from app.database.engine import session_scope
    from app.database.models import Base

    result = {}
    with session_scope() as session:
        for table in Base.metadata.sorted_tables:
            if "account_id" in table.c:
                rows = session.execute(select(table).where(table.c.account_id == account_id)).all()
            elif table.name == "accounts":
                rows = session.execute(select(table).where(table.c.id == account_id)).all()
            else:
                continue
            result[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return result


def page_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every back-office route."""
    found = []
    for route in app.routes:
        if route.path.startswith(SKIPPED_PREFIXES) or route.path in ("/login", "/logout"):
            continue
        for method in getattr(route, "route_handler_map", {}):
            if method not in ("OPTIONS", "HEAD"):
                found.append((method, route.path))
    return sorted(found)


def fill_path(path: str, params: dict[str, Any]) -> str:
    return re.sub(r"{(\w+):\w+}", lambda m: str(params[m.group(1)]), path)


# -- OAuth apps -------------------------------------------------------------------------------


@dataclass
class App:
    id: int
    account_id: int
    client_id: str
    client_secret: str

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def make_app(account_id: int, scopes=("customers",), name: str = "Shop sync") -> App:
    from app.database.engine import session_scope
    from app.integrations import service

    with session_scope() as session:
        new = service.create_app(session, account_id, name, scopes)
        return App(new.app.id, account_id, new.app.client_id, new.client_secret)


def get_token(client, app: App, **params) -> dict:
    response = client.post("/api/auth/token/", data={"grant_type": "client_credentials", **params}, headers=app.basic)
    assert response.status_code == 200, response.text
    return response.json()


def assert_envelope(response, status: int, key: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"fields", "description", "key"}, error
    assert isinstance(error["fields"], dict) and isinstance(error["key"], str) and error["key"]
    assert error["description"] is None or isinstance(error["description"], str)
    if key is not None:
        assert error["key"] == key, error
    return error


@pytest.fixture
def api(client, account_a):
    """(client, headers) of a fresh account, and the id of one of its customers."""
    created = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=account_a.bearer)
    assert created.status_code == 201
    return client, account_a.bearer, created.json()["id"]


@pytest.fixture
def rate_limit_on(monkeypatch):
    """The real limit (20 requests a second), which the rest of the suite turns off."""
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "20")


# -- a real server for the browser ---------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(database: str) -> Iterator[str]:
    """The app served by uvicorn in a subprocess on the test database; its base URL."""
    with serve("security") as base_url:
        yield base_url


