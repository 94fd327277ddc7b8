"""A signed-in back-office client over the real app."""

from __future__ import annotations

import re
import uuid

import pytest


@pytest.fixture
def staff_client(client):
    """(client, account_id) signed in as a new admin of a new account."""
    from app.accounts import service as accounts
    from app.db import session_scope

    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        account, _ = accounts.ensure_account(session, f"Shop {uuid.uuid4().hex[:8]}")
        accounts.create_user(session, account.id, email, "correct horse battery")
        account_id = account.id
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login", data={"email": email, "password": "correct horse battery", "_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    client.headers["x-csrftoken"] = token
    return client, account_id
