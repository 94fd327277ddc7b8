"""One held lock never stalls the shop. Another connection holds a lock on a customer of account A
(PostgreSQL: the row, read for update; SQLite: the database's write lock) while more of A's writes
than the server has threads pile up behind it. Account B's reads and writes, on the API and in the
back office, and A's reads answer before any of A's writes has given up: they never waited for a
thread that A's writes hold. (On SQLite the write lock is the whole database's, so B's writes
answer 503 after the lock timeout too.) Then A's writes answer 503 with Retry-After, all while the
lock is still held. The server counts requests against the rate limit, as deployed (a count is a
write), with 8 threads (4 for writes, 2 for one account's)."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.database.errors import RETRY_AFTER_UNAVAILABLE
from tests.conftest import DATABASE_URL, connect_to_test_database
from tests.fixtures.security import PASSWORD, Account, make_account
from tests.server import serve

LOCK_TIMEOUT = 5  # seconds, the server's CLIENTELE_LOCK_TIMEOUT here: B's requests need a fraction of it
THREADS = 8  # the server's CLIENTELE_THREADS: writes may hold 4 of them, one account's 2
QUEUED = 12  # A's writes behind the lock: more than the server's threads
PATIENCE = 30  # seconds any answer may take at most here: far more than the lock timeout
SQLITE = DATABASE_URL.startswith("sqlite")


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[str]:
    env = {"CLIENTELE_LOCK_TIMEOUT": str(LOCK_TIMEOUT), "CLIENTELE_THREADS": str(THREADS), "CLIENTELE_RATE_LIMIT": "1000"}
    with serve("held-locks", env=env) as base_url:
        yield base_url


@contextmanager
def held(customer_id: int) -> Iterator[None]:
    """The customer's row locked (PostgreSQL), or the write lock taken (SQLite), by a connection of its own."""
    url = make_url(DATABASE_URL)
    if SQLITE:
        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE customers SET company = 'held' WHERE id = ?", (customer_id,))
    else:
        conn = connect_to_test_database()
        conn.execute("SELECT id FROM customers WHERE id = %s FOR UPDATE", (customer_id,))
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def waiting_for_locks(at_least: int) -> None:
    """Until ``at_least`` of the server's statements wait for a lock (PostgreSQL), or a moment (SQLite)."""
    if SQLITE:
        time.sleep(1)
        return
    url = make_url(DATABASE_URL)
    with connect_to_test_database(autocommit=True) as conn:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (url.database,)
            ).fetchone()[0]
            if waiting >= at_least:
                return
            time.sleep(0.05)


def new_customer(client: httpx.Client, account: Account) -> int:
    response = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=account.bearer)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def signed_in(base_url: str, email: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base_url, timeout=PATIENCE)
    page = client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "_csrf_token": token})
    assert response.status_code == 303, response.text[:300]
    return client, token


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["retry-after"] == str(RETRY_AFTER_UNAVAILABLE)
    assert response.json()["error"]["key"] == "common.unavailable"


def test_a_held_lock_stalls_neither_another_account_nor_reads(server):
    a, b = make_account(), make_account()
    with httpx.Client(base_url=server, timeout=PATIENCE) as api:
        a_customer, b_customer = new_customer(api, a), new_customer(api, b)
        page, csrf = signed_in(server, b.admin_email)
        with contextlib.closing(page), held(a_customer), ThreadPoolExecutor(QUEUED) as pool:
            queued = [
                pool.submit(
                    lambda n: httpx.put(f"{server}/api/customers/{a_customer}/", json={"note": f"try {n}"}, headers=a.bearer, timeout=PATIENCE),
                    n,
                )
                for n in range(QUEUED)
            ]
            waiting_for_locks(THREADS // 4)

            # While every one of A's writes still waits: B's and A's reads, and on PostgreSQL B's writes.
            assert api.get("/api/customers/", headers=b.bearer).status_code == 200
            assert api.get(f"/api/customers/{b_customer}/", headers=b.bearer).status_code == 200
            assert api.get(f"/api/customers/{a_customer}/", headers=a.bearer).status_code == 200
            assert page.get("/customers").status_code == 200
            assert page.get(f"/customers/{b_customer}/edit").status_code == 200
            if not SQLITE:
                write = api.put(f"/api/customers/{b_customer}/", json={"note": "B"}, headers=b.bearer)
                assert write.status_code == 200, write.text
                toggle = page.post(f"/customers/{b_customer}/toggle/is_favourite", data={"value": "1", "_csrf_token": csrf})
                assert toggle.status_code == 303, toggle.text[:300]
            assert not any(future.done() for future in queued), "a request of B's waited until one of A's writes gave up"

            if SQLITE:  # B's writes wait for the database's write lock, and give up as A's do
                assert_unavailable(api.put(f"/api/customers/{b_customer}/", json={"note": "B"}, headers=b.bearer))
                toggle = page.post(f"/customers/{b_customer}/toggle/is_favourite", data={"value": "1", "_csrf_token": csrf})
                assert toggle.status_code == 503 and toggle.headers["retry-after"] == str(RETRY_AFTER_UNAVAILABLE)

            # A's writes give up after the lock timeout, while the lock is still held.
            for future in queued:
                assert_unavailable(future.result())

        # The lock gone, A's writes go through again.
        response = api.put(f"/api/customers/{a_customer}/", json={"note": "after"}, headers=a.bearer)
        assert response.status_code == 200, response.text
