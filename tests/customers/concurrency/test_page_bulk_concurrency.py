"""Bulk actions on the customers list (favourite, delete) racing single edits of the same customers:
neither loses the other's acknowledged change."""

from __future__ import annotations

import re
import threading

import httpx

from tests.customers.concurrency.helpers import (
    counters_agree,
    stored,
    together,
    trashed,
)
from tests.customers.concurrency.pages import _create


def _browse_until(browser: httpx.Client, done: threading.Event) -> None:
    """Keep reading the list, as a person does after a bulk action, until the writers are done."""
    for _ in range(200):
        if done.is_set():
            return
        response = browser.get("/customers")
        assert response.status_code == 200, response.status_code


class _Writers:
    """``with writers:`` around each writer's work; ``done`` is set when the last one leaves."""

    def __init__(self, count: int, done: threading.Event) -> None:
        self.count, self.done, self.lock = count, done, threading.Lock()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.count -= 1
            if self.count == 0:
                self.done.set()


def test_bulk_favourite_racing_single_edits_loses_neither(page_session, staff, api_client):
    ids = [_create(staff, company=f"Bulk {n}") for n in range(20)]
    browser = page_session(staff)
    clients = [api_client(staff.shop) for _ in range(4)]
    done = threading.Event()
    writers = _Writers(4, done)

    def work(index: int, barrier) -> dict[int, tuple[int, str]]:
        barrier.wait()
        if index == 4:
            response = browser.post("/customers/bulk", data={"action": "favourite", "confirm": "1", "ids": [str(i) for i in ids]})
            assert response.status_code == 303, response.text[:500]
            _browse_until(browser, done)
            return {}
        last: dict[int, tuple[int, str]] = {}
        with writers:
            rounds(index, last)
        return last

    def rounds(index: int, last: dict) -> None:
        for round_ in range(3):
            for customer_id in ids[index::4]:
                value = f"Edit {index}-{round_}"
                response = clients[index].put(f"/api/customers/{customer_id}", json={"last_name": value})
                assert response.status_code == 200, response.text
                last[customer_id] = (round_, value)

    results = together(5, work)

    for last in results[:4]:
        for customer_id, (_, value) in last.items():
            now = stored(staff.account_id, customer_id)
            assert now["last_name"] == value
            assert now["is_favourite"] is True
    (kept, real), (kept_favourites, real_favourites) = counters_agree(staff.account_id)
    assert kept == real == 20
    assert kept_favourites == real_favourites == 20


def test_bulk_delete_racing_single_edits_keeps_each_acknowledged_edit(page_session, staff, api_client):
    ids = [_create(staff, company=f"Doomed {n}") for n in range(20)]
    browser = page_session(staff)
    clients = [api_client(staff.shop) for _ in range(4)]
    done = threading.Event()
    writers = _Writers(4, done)

    def work(index: int, barrier) -> dict[int, str]:
        barrier.wait()
        if index == 4:
            response = browser.post("/customers/bulk", data={"action": "delete", "confirm": "1", "ids": [str(i) for i in ids]})
            assert response.status_code == 303, response.text[:500]
            assert re.search(r"Deleted 20 customers", browser.get("/customers").text)
            _browse_until(browser, done)
            return {}
        last: dict[int, str] = {}
        with writers:
            rounds(index, last)
        return last

    def rounds(index: int, last: dict) -> None:
        for round_ in range(3):
            for customer_id in ids[index::4]:
                value = f"Edit {index}-{round_}"
                response = clients[index].put(f"/api/customers/{customer_id}", json={"note": value})
                assert response.status_code in (200, 404), response.text
                if response.status_code == 200:
                    last[customer_id] = value

    results = together(5, work)

    for customer_id in ids:
        assert stored(staff.account_id, customer_id) is None
        assert len(trashed(staff.account_id, customer_id)) == 1
    for last in results[:4]:
        for customer_id, value in last.items():
            assert trashed(staff.account_id, customer_id)[0]["note"] == value
    (kept, real), (kept_favourites, real_favourites) = counters_agree(staff.account_id)
    assert kept == real == 0
    assert kept_favourites == real_favourites == 0
