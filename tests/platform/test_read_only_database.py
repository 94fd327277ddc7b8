"""A database that reads but takes no writes (a read-only file, a full disk, a read-only standby):
reads keep working, and a change answers 503 with Retry-After and says why, on the API and in the
back office, instead of a 500 on every request.

SQLite: the server serves a copy of the test database whose file it may not write (as root, it runs
without the power to override file permissions). PostgreSQL: the test database is set to
``default_transaction_read_only`` for the connections the server opens. The server counts requests
against the rate limit, as deployed (a count is a write)."""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.customers import service
from app.database.engine import session_scope
from app.database.errors import READ_ONLY, RETRY_AFTER_UNAVAILABLE
from tests.conftest import DATABASE_URL, admin_engine, connect_to_test_database
from tests.fixtures.security import PASSWORD, Account, make_account, sign_in
from tests.server import serve

SQLITE = DATABASE_URL.startswith("sqlite")


@dataclass
class ReadOnly:
    base_url: str
    account: Account
    customer_id: int
    session_cookie: str


@contextmanager
def read_only_database() -> Iterator[str]:
    """The DATABASE_URL of the test database as a server sees it that may read it but not write it."""
    url = make_url(DATABASE_URL)
    if SQLITE:
        folder = Path(tempfile.mkdtemp(prefix="clientele-read-only-"))
        copy = folder / "read-only.db"
        with sqlite3.connect(url.database) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        with sqlite3.connect(copy) as target:
            target.execute("PRAGMA journal_mode=WAL")  # as the app keeps it (switching needs a write)
        copy.chmod(0o444)
        yield f"sqlite:///{copy}"
        return
    with connect_to_test_database(autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on')
    _pooled_connections_ended(url.database)
    try:
        yield DATABASE_URL
    finally:
        with connect_to_test_database() as conn:  # a transaction of its own, read-write whatever the default
            conn.execute("SET TRANSACTION READ WRITE")
            conn.execute(f'ALTER DATABASE "{url.database}" RESET default_transaction_read_only')
        _pooled_connections_ended(url.database)


def _pooled_connections_ended(database: str) -> None:
    """Behind PgBouncer: end the server connections to ``database`` the pooler keeps, so that the ones it
    opens next take the database's new default (a server connection keeps the one it started with).
    Not without it: the test process's own pool would lose its connections."""
    if os.environ.get("CLIENTELE_PGBOUNCER") != "1":
        return
    # From the server's administration database: the pooler may hand a connection to the test database
    # the very server connection to be ended.
    engine = admin_engine()
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": database})
    engine.dispose()


@pytest.fixture(scope="module")
def read_only(database: str, app) -> Iterator[ReadOnly]:
    account = make_account()
    with session_scope() as session:
        customer = service.create(session, account.id, {"first_name": "Ada", "last_name": "Lovelace"})
    with TestClient(app) as client:
        sign_in(client, account.admin_email)
        cookie = client.cookies.get("clientele_session")
    env = {"CLIENTELE_RATE_LIMIT": "1000"}
    # Root writes any file: the server runs without that power.
    wrapper = ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    with read_only_database() as url, serve("read-only", env={**env, "DATABASE_URL": url}, wrapper=wrapper) as base_url:
        yield ReadOnly(base_url, account, customer.id, cookie)


def assert_read_only(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["retry-after"] == str(RETRY_AFTER_UNAVAILABLE)


def test_the_api_reads_and_answers_503_to_changes(read_only):
    with httpx.Client(base_url=read_only.base_url, headers=read_only.account.bearer, timeout=30) as api:
        listed = api.get("/api/customers/")
        assert listed.status_code == 200, listed.text
        assert [c["id"] for c in listed.json()["data"]] == [read_only.customer_id]
        assert api.get(f"/api/customers/{read_only.customer_id}/").json()["last_name"] == "Lovelace"
        for response in (
            api.put(f"/api/customers/{read_only.customer_id}/", json={"last_name": "Byron"}),
            api.post("/api/customers/", json={"first_name": "Mary", "last_name": "Somerville"}),
            api.delete(f"/api/customers/{read_only.customer_id}/"),
        ):
            assert_read_only(response)
            assert response.json()["error"] == {"fields": {}, "description": READ_ONLY, "key": "common.unavailable"}
        assert api.get(f"/api/customers/{read_only.customer_id}/").json()["last_name"] == "Lovelace"


def test_the_back_office_reads_and_answers_503_to_changes(read_only):
    with httpx.Client(base_url=read_only.base_url, timeout=30) as client:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.cookies.set("clientele_session", read_only.session_cookie)
        listed = client.get("/customers")
        assert listed.status_code == 200 and "Lovelace" in listed.text
        assert client.get(f"/customers/{read_only.customer_id}/edit").status_code == 200
        toggle = f"/customers/{read_only.customer_id}/toggle/is_favourite"
        page = client.post(toggle, data={"value": "1", "_csrf_token": token})
        assert_read_only(page)
        assert "Unavailable for a moment" in page.text and "takes no changes" in page.text
        htmx = client.post(toggle, data={"value": "1", "_csrf_token": token}, headers={"HX-Request": "true"})
        assert_read_only(htmx)
        assert htmx.text == READ_ONLY


def test_signing_in_answers_503(read_only):
    with httpx.Client(base_url=read_only.base_url, timeout=30) as client:
        token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        response = client.post("/login", data={"email": read_only.account.admin_email, "password": PASSWORD, "_csrf_token": token})
        assert_read_only(response)
        assert "takes no changes" in response.text
