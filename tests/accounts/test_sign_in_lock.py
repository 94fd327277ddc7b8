"""The sign-in lock under concurrent guessing: 32 clients at once against the two-worker server
never get more passwords checked than the lock allows (5 per email, 20 per address).

A checked password answers 400 ("Email or password is wrong."), a refused attempt 429; 16
concurrent attempts used to get 10 passwords checked for one email, as every attempt read the
count before any of them had added to it.
"""

from __future__ import annotations

import re
import threading
import uuid

import httpx
import pytest
from sqlalchemy import delete

from app.web import throttle
from tests.customers.concurrency.helpers import together
from tests.fixtures.concurrency import PASSWORD, TIMEOUT, Staff

CLIENTS = 32


@pytest.fixture(autouse=True)
def forget_the_address():
    """The failures counted for 127.0.0.1 would lock the other tests' sign-ins out."""
    yield
    from app.database.engine import session_scope
    from app.web.models import LoginFailure

    with session_scope() as session:
        session.execute(delete(LoginFailure).where(LoginFailure.key == "ip:127.0.0.1"))


def _guess_together(multi_worker_server: str, emails: list[str], password: str) -> list[int]:
    """One client per email, each posting the sign-in form at the same moment; their statuses."""

    def guess(index: int, barrier: threading.Barrier) -> int:
        with httpx.Client(base_url=multi_worker_server, timeout=TIMEOUT) as client:
            page = client.get("/login")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
            barrier.wait()
            response = client.post("/login", data={"email": emails[index], "password": password, "_csrf_token": token})
            return response.status_code

    return together(len(emails), guess)


def test_concurrent_guesses_at_one_email_check_no_more_passwords_than_the_lock_allows(multi_worker_server: str, staff: Staff):
    statuses = _guess_together(multi_worker_server, [staff.email] * CLIENTS, "a wrong password, surely")

    assert set(statuses) <= {400, 429}, statuses
    assert statuses.count(400) == throttle.MAX_FAILURES, statuses
    # Locked now, even for the right password.
    assert _guess_together(multi_worker_server, [staff.email], PASSWORD) == [429]


def test_concurrent_guesses_from_one_address_check_no_more_passwords_than_the_lock_allows(multi_worker_server: str):
    emails = [f"spray-{uuid.uuid4().hex[:10]}@example.com" for _ in range(CLIENTS)]
    statuses = _guess_together(multi_worker_server, emails, "a wrong password, surely")

    assert set(statuses) <= {400, 429}, statuses
    assert statuses.count(400) == throttle.MAX_FAILURES * 4, statuses
