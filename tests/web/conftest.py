"""A signed-in back-office client over the real app."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

PASSWORD = "correct horse battery"


@dataclass
class SignedIn:
    """An account with an API token and a user signed in on a client (its cookies, to switch back to it)."""

    account_id: int
    timezone: str
    bearer: dict[str, str]
    cookies: dict[str, str]
    csrf: str

    def use(self, client) -> None:
        """Make ``client`` act as this account's user (pages) and token (API)."""
        client.cookies.clear()
        for name, value in self.cookies.items():
            client.cookies.set(name, value)
        client.headers["x-csrftoken"] = self.csrf


def sign_in(client, timezone: str = "Europe/Berlin") -> SignedIn:
    """A new account in ``timezone`` with a token and an admin, signed in on ``client`` through the login form."""
    from app.accounts import service as accounts
    from app.database.engine import session_scope
    from tests.conftest import make_shop

    shop = make_shop(timezone=timezone)
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        accounts.create_user(session, shop.id, email, PASSWORD)
    client.cookies.clear()
    client.headers.pop("x-csrftoken", None)  # another account's, if the client was signed in before
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    signed = SignedIn(shop.id, timezone, shop.headers, dict(client.cookies), token)
    client.headers["x-csrftoken"] = token
    return signed


@pytest.fixture
def staff_client(client):
    """(client, account_id) signed in as a new admin of a new account."""
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        account, _ = accounts.ensure_account(session, f"Shop {uuid.uuid4().hex[:8]}")
        accounts.create_user(session, account.id, email, PASSWORD)
        account_id = account.id
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    client.headers["x-csrftoken"] = token
    return client, account_id
