"""Concurrency tests: the real app served by uvicorn with two worker processes,
driven by many threads at once, each with its own HTTP client.

The server runs on the database that tests/conftest.py created and migrated
(SQLite by default, PostgreSQL with TEST_DATABASE_URL), with the rate limit
off: these tests fire many requests with one token on purpose. Tests keep apart
by account (``make_shop`` / ``staff``), as every other suite does. With
CLIENTELE_TEST_CLUSTER=N the same tests run against N app processes behind
HAProxy (ops/cluster.py), as CI does through PgBouncer.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Shop, make_shop
from tests.server import serve

PASSWORD = "correct horse battery"
TIMEOUT = httpx.Timeout(30.0)


@pytest.fixture(scope="session")
def live_server(database: str) -> Iterator[str]:
    """The app under uvicorn with two workers on the migrated test database; its base URL.
    With CLIENTELE_TEST_CLUSTER=N: N ``clientele run`` processes behind HAProxy instead (ops/cluster.py)."""
    processes = int(os.environ.get("CLIENTELE_TEST_CLUSTER", "0") or 0)
    if processes:
        from ops.cluster import Cluster, running

        folder = Path(tempfile.mkdtemp(prefix="clientele-concurrency-cluster-"))
        with running(Cluster(database, processes=processes, folder=folder, env={"CLIENTELE_RATE_LIMIT": "0"})) as cluster:
            yield cluster.url
        return
    with serve("concurrency", workers=2, env={"CLIENTELE_RATE_LIMIT": "0"}) as base_url:
        yield base_url


# -- API clients -------------------------------------------------------------------


@pytest.fixture
def api_client(live_server: str) -> Iterator[Callable[[Shop], httpx.Client]]:
    """``api_client(shop)``: a new HTTP client of its own with the shop's token (one per thread)."""
    clients: list[httpx.Client] = []

    def make(shop: Shop) -> httpx.Client:
        client = httpx.Client(base_url=live_server, headers=shop.headers, timeout=TIMEOUT)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def live_shop() -> Shop:
    """A new account with a token holding every customers scope."""
    return make_shop()


# -- back-office sessions ------------------------------------------------------------


@dataclass
class Staff:
    account_id: int
    shop: Shop  # a token of the same account, for API writes and reads
    email: str


@pytest.fixture
def staff(live_shop: Shop) -> Staff:
    """An admin user of the live shop's account."""
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as session:
        accounts.create_user(session, live_shop.id, email, PASSWORD, role="admin")
    return Staff(live_shop.id, live_shop, email)


@pytest.fixture
def page_session(live_server: str) -> Iterator[Callable[[Staff], httpx.Client]]:
    """``page_session(staff)``: a new browser-like client, signed in through the login form."""
    clients: list[httpx.Client] = []

    def make(who: Staff) -> httpx.Client:
        client = httpx.Client(base_url=live_server, timeout=TIMEOUT)
        clients.append(client)
        page = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        response = client.post("/login", data={"email": who.email, "password": PASSWORD, "_csrf_token": token})
        assert response.status_code == 303, response.text[:500]
        client.headers["x-csrftoken"] = token
        return client

    yield make
    for client in clients:
        client.close()
