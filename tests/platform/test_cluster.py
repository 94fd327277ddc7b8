"""Two app processes behind HAProxy (ops/cluster.py, as ``make cluster`` starts them) on the test
database: whatever one process keeps for a client, the other honours, because it lives in the
database. A session signed in on one is signed in on the other, a CSRF token from one is good on the
other (and a forged one refused there), one rate limit counts the requests served by both, and a list
remembered by one process is revalidated after a write through the other. Requests go to each process
directly, and through HAProxy, which sends them to the processes in turn."""

from __future__ import annotations

import math
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.cluster import Cluster, running
from tests.conftest import DATABASE_URL, Shop
from tests.fixtures.concurrency import PASSWORD, TIMEOUT, Staff

RATE_LIMIT = 5  # requests a second per client, counted by both processes together


@pytest.fixture(scope="module")
def cluster(database: str) -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="clientele-cluster-"))
    with running(Cluster(DATABASE_URL, processes=2, folder=folder, env={"CLIENTELE_RATE_LIMIT": str(RATE_LIMIT)})) as started:
        yield started


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """One cookie jar for every port of 127.0.0.1, as a browser keeps it."""
    with httpx.Client(timeout=TIMEOUT) as client:
        yield client


def _sign_in(client: httpx.Client, base_url: str, staff: Staff) -> None:
    page = client.get(f"{base_url}/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(f"{base_url}/login", data={"email": staff.email, "password": PASSWORD, "_csrf_token": token})
    assert response.status_code == 303, response.text[:500]


def _new_customer(base_url: str, shop: Shop, last_name: str) -> int:
    response = httpx.post(f"{base_url}/api/customers/", json={"first_name": "Ada", "last_name": last_name}, headers=shop.headers, timeout=TIMEOUT)
    assert response.status_code == 201, response.text[:500]
    return response.json()["id"]


def test_a_session_signed_in_on_one_process_is_signed_in_on_the_other_and_through_the_proxy(cluster, browser, staff):
    one, two = cluster.process_urls
    assert browser.get(f"{two}/customers", follow_redirects=False).status_code in (302, 303)  # not yet signed in
    _sign_in(browser, one, staff)
    for base_url in (two, one, cluster.url, cluster.url):
        assert browser.get(f"{base_url}/customers", follow_redirects=False).status_code == 200, base_url
    logout = browser.post(f"{two}/logout", data={"_csrf_token": browser.cookies.get("clientele_csrf")}, follow_redirects=False)
    assert logout.status_code == 303
    assert browser.get(f"{one}/customers", follow_redirects=False).status_code in (302, 303)  # signed out everywhere


def test_a_csrf_token_from_one_process_is_good_on_the_other_and_a_forged_one_is_refused_there(cluster, browser, staff, live_shop):
    one, two = cluster.process_urls
    customer_id = _new_customer(one, live_shop, "Lovelace")
    _sign_in(browser, one, staff)
    token = browser.cookies.get("clientele_csrf")
    forged = browser.post(f"{two}/customers/{customer_id}/toggle/is_favourite", data={"value": "1", "_csrf_token": "A" * 64 + "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403
    assert httpx.get(f"{two}/api/customers/{customer_id}/", headers=live_shop.headers).json()["is_favourite"] is False
    saved = browser.post(f"{two}/customers/{customer_id}/toggle/is_favourite", data={"value": "1", "_csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303
    assert httpx.get(f"{one}/api/customers/{customer_id}/", headers=live_shop.headers).json()["is_favourite"] is True


def test_one_rate_limit_counts_the_requests_of_both_processes(cluster, live_shop):
    one, two = cluster.process_urls
    statuses: dict[str, list[int]] = {one: [], two: []}
    with httpx.Client(headers=live_shop.headers, timeout=TIMEOUT) as client:
        start = time.time()
        for n in range(6 * RATE_LIMIT):
            base_url = (one, two)[n % 2]
            statuses[base_url].append(client.get(f"{base_url}/api/customers/?limit=1").status_code)
        end = time.time()
    windows = math.floor(end) - math.floor(start) + 1  # the one-second windows the requests fell in
    allowed = sum(status == 200 for served in statuses.values() for status in served)
    # Counted apart, each process would allow the limit in each window: twice as many.
    assert allowed <= RATE_LIMIT * windows, (windows, statuses)
    for served in statuses.values():
        assert set(served) <= {200, 429} and 429 in served, statuses


def test_a_list_remembered_by_one_process_is_revalidated_after_a_write_through_the_other(cluster, live_shop):
    one, two = cluster.process_urls
    _new_customer(two, live_shop, "Hopper")
    first = httpx.get(f"{one}/api/customers/", headers=live_shop.headers)
    etag = first.headers["etag"]
    assert httpx.get(f"{one}/api/customers/", headers={**live_shop.headers, "If-None-Match": etag}).status_code == 304
    time.sleep(1)  # a new rate-limit window
    _new_customer(two, live_shop, "Dijkstra")
    for base_url in (one, cluster.url):
        after = httpx.get(f"{base_url}/api/customers/", headers={**live_shop.headers, "If-None-Match": etag})
        assert after.status_code == 200, base_url
        assert after.headers["etag"] != etag
        assert sorted(item["last_name"] for item in after.json()["data"]) == ["Dijkstra", "Hopper"]
