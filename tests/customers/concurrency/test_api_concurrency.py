"""Many API clients writing the same customers at once: nothing is lost, nothing is doubled.

Each thread has its own HTTP client; the server has two worker processes, so
requests really run in parallel (and on PostgreSQL, in parallel transactions).
"""

from __future__ import annotations

import random
import threading

import httpx

from tests.customers.concurrency.helpers import (
    counters_agree,
    etag_version,
    stored,
    together,
    trashed,
    update_events,
)


def _create(client: httpx.Client, **fields) -> dict:
    response = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace", **fields})
    assert response.status_code == 201, response.text
    return {**response.json(), "etag": response.headers["etag"]}


# -- If-Match: the second writer of a version is refused ------------------------------


def test_stale_if_match_is_refused_and_the_first_write_stays(api_client, live_shop):
    first, second = api_client(live_shop), api_client(live_shop)
    customer = _create(first)
    url = f"/api/customers/{customer['id']}"
    # Both read the same version.
    etag_first = first.get(url).headers["etag"]
    etag_second = second.get(url).headers["etag"]
    assert etag_first == etag_second == customer["etag"]

    saved = first.put(url, json={"company": "First's company"}, headers={"If-Match": etag_first})
    assert saved.status_code == 200, saved.text
    refused = second.put(url, json={"company": "Second's company"}, headers={"If-Match": etag_second})

    assert refused.status_code == 412
    assert refused.json()["error"]["key"] == "common.precondition_failed"
    assert refused.headers["etag"] == saved.headers["etag"]  # the version to re-read
    now = second.get(url)
    assert now.json()["company"] == "First's company"
    assert now.headers["etag"] == saved.headers["etag"]


def test_racing_if_match_writers_exactly_one_wins(api_client, live_shop):
    customer = _create(api_client(live_shop))
    url = f"/api/customers/{customer['id']}"
    clients = [api_client(live_shop) for _ in range(8)]

    def write(index: int, barrier) -> httpx.Response:
        barrier.wait()
        return clients[index].put(url, json={"note": f"writer {index}"}, headers={"If-Match": customer["etag"]})

    responses = together(8, write)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7, statuses
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    final = stored(live_shop.id, customer["id"])
    assert final["note"] == f"writer {winner}"
    assert final["version"] == etag_version(customer["etag"]) + 1
    assert len(update_events(live_shop.id, customer["id"])) == 1


def test_stale_if_match_delete_is_refused(api_client, live_shop):
    client = api_client(live_shop)
    customer = _create(client)
    url = f"/api/customers/{customer['id']}"
    changed = client.put(url, json={"company": "Changed meanwhile"})
    assert changed.status_code == 200

    refused = client.delete(url, headers={"If-Match": customer["etag"]})
    assert refused.status_code == 412
    assert stored(live_shop.id, customer["id"])["company"] == "Changed meanwhile"
    deleted = client.delete(url, headers={"If-Match": changed.headers["etag"]})
    assert deleted.status_code == 200
    assert stored(live_shop.id, customer["id"]) is None
    assert [t["company"] for t in trashed(live_shop.id, customer["id"])] == ["Changed meanwhile"]


# -- partial updates to different fields never undo each other -----------------------

FIELDS = ("first_name", "last_name", "company", "email", "phone_number", "note", "tax_number", "city")


def _value(field: str, thread: int, round_: int) -> str:
    if field == "email":
        return f"t{thread}-r{round_}@example.com"
    if field == "phone_number":
        return f"030 {thread:02d}{round_:04d}"
    return f"{field} {thread}-{round_}"


def _stored_field(data: dict, field: str):
    if field == "city":
        return data["billing_address"].get("city")
    if field == "phone_number" and "phone_numbers" in data:  # version 9 and below: the first entry of the list
        return data["phone_numbers"][0]["national_number"] if data["phone_numbers"] else ""
    return data[field]


def test_partial_puts_to_different_fields_keep_every_last_value(api_client, live_shop):
    customer = _create(api_client(live_shop))
    url = f"/api/customers/{customer['id']}"
    rounds = 12
    clients = [api_client(live_shop) for _ in FIELDS]

    def write(index: int, barrier) -> list[tuple[int, str]]:
        field = FIELDS[index]
        acknowledged = []
        barrier.wait()
        for round_ in range(rounds):
            value = _value(field, index, round_)
            response = clients[index].put(url, json={field: value})
            assert response.status_code == 200, response.text
            answered = _stored_field(response.json(), field)
            assert answered == value
            acknowledged.append((etag_version(response.headers["etag"]), value))
        return acknowledged

    results = together(len(FIELDS), write)

    final = stored(live_shop.id, customer["id"])
    versions = [version for acknowledged in results for version, _ in acknowledged]
    # Every acknowledged write made a version of its own: none was applied over another's.
    assert sorted(versions) == list(range(2, 2 + len(FIELDS) * rounds))
    assert final["version"] == 1 + len(FIELDS) * rounds
    for field, acknowledged in zip(FIELDS, results):
        last = max(acknowledged)[1]
        assert last == _value(field, FIELDS.index(field), rounds - 1)
        assert _stored_field(final, field) == last, field
    assert len(update_events(live_shop.id, customer["id"])) == len(FIELDS) * rounds
    over_api = api_client(live_shop).get(url).json()
    for field, acknowledged in zip(FIELDS, results):
        shown = over_api["billing_address"]["city"] if field == "city" else over_api[field]
        assert shown == max(acknowledged)[1]


def test_concurrent_favourite_flips_keep_the_counters(api_client, live_shop):
    client = api_client(live_shop)
    ids = [_create(client, company=f"Flip {n}")["id"] for n in range(6)]
    clients = [api_client(live_shop) for _ in range(8)]

    def flip(index: int, barrier) -> None:
        rng = random.Random(index)
        barrier.wait()
        for _ in range(15):
            customer_id = rng.choice(ids)
            response = clients[index].put(f"/api/customers/{customer_id}", json={"is_favourite": rng.random() < 0.5})
            assert response.status_code == 200, response.text

    together(8, flip)

    (kept, real), (kept_favourites, real_favourites) = counters_agree(live_shop.id)
    assert kept == real == 6
    assert kept_favourites == real_favourites


# -- creates: unique, gap-free numbers --------------------------------------------------


def test_concurrent_creates_get_unique_gap_free_scoped_ids(api_client, live_shop):
    threads, each = 10, 4
    clients = [api_client(live_shop) for _ in range(threads)]

    def create(index: int, barrier) -> list[dict]:
        barrier.wait()
        return [_create(clients[index], company=f"Thread {index} n{n}") for n in range(each)]

    created = [c for batch in together(threads, create) for c in batch]

    total = threads * each
    assert len({c["id"] for c in created}) == total
    assert sorted(c["account_scoped_id"] for c in created) == list(range(1, total + 1))
    (kept, real), _ = counters_agree(live_shop.id)
    assert kept == real == total
    assert api_client(live_shop).get("/api/customers/").json()["total"] == total


def test_concurrent_creates_in_two_accounts_number_each_account_apart(api_client, live_shop):
    from tests.conftest import make_shop

    other = make_shop()
    shops = [live_shop, other] * 5
    clients = [api_client(shop) for shop in shops]

    def create(index: int, barrier) -> list[int]:
        barrier.wait()
        return [_create(clients[index], company=f"T{index} {n}")["account_scoped_id"] for n in range(4)]

    numbers = together(len(shops), create)

    for shop in (live_shop, other):
        mine = sorted(n for index, batch in enumerate(numbers) if shops[index] is shop for n in batch)
        assert mine == list(range(1, 21))
        (kept, real), _ = counters_agree(shop.id)
        assert kept == real == 20


# -- deletes --------------------------------------------------------------------------------


def test_concurrent_deletes_of_one_customer_succeed_once(api_client, live_shop):
    client = api_client(live_shop)
    keep = _create(client, company="Stays")
    customer = _create(client, company="Goes")
    clients = [api_client(live_shop) for _ in range(8)]

    def delete(index: int, barrier) -> int:
        barrier.wait()
        return clients[index].delete(f"/api/customers/{customer['id']}").status_code

    statuses = sorted(together(8, delete))

    assert statuses == [200] + [404] * 7
    assert len(trashed(live_shop.id, customer["id"])) == 1
    assert stored(live_shop.id, keep["id"]) is not None
    (kept, real), _ = counters_agree(live_shop.id)
    assert kept == real == 1


def test_updates_racing_a_delete_are_all_in_the_trash_copy(api_client, live_shop):
    """A PUT acknowledged before the delete is in the trashed copy; after it, PUTs answer 404."""
    customer = _create(api_client(live_shop))
    url = f"/api/customers/{customer['id']}"
    fields = ("company", "note", "tax_number", "email")
    clients = [api_client(live_shop) for _ in range(len(fields) + 1)]
    deleted = threading.Event()

    def work(index: int, barrier) -> list[tuple[int, str]]:
        barrier.wait()
        if index == len(fields):
            for _ in range(20):  # let some updates through first
                if stored(live_shop.id, customer["id"])["version"] >= 8:
                    break
                threading.Event().wait(0.05)
            response = clients[index].delete(url)
            assert response.status_code == 200
            deleted.set()
            return []
        field = fields[index]
        acknowledged = []
        for round_ in range(40):
            value = _value(field, index, round_)
            response = clients[index].put(url, json={field: value})
            if response.status_code == 404:
                assert deleted.is_set() or stored(live_shop.id, customer["id"]) is None
                break
            assert response.status_code == 200, response.text
            acknowledged.append((etag_version(response.headers["etag"]), value))
        return acknowledged

    results = together(len(fields) + 1, work)

    assert stored(live_shop.id, customer["id"]) is None
    [copy] = trashed(live_shop.id, customer["id"])
    for field, acknowledged in zip(fields, results):
        if acknowledged:
            version, value = max(acknowledged)
            assert copy[field] == value, field
            assert copy["version"] >= version
    (kept, real), _ = counters_agree(live_shop.id)
    assert kept == real == 0


# -- remembered lists: a write on one worker shows in the next read on any ------------


def test_a_list_read_right_after_a_write_shows_it_on_either_worker(api_client, live_shop):
    """Each worker remembers list responses; the two must never serve one older than the last write."""
    # Four readers, four connections: the kernel spreads them over both workers.
    writer, readers = api_client(live_shop), [api_client(live_shop) for _ in range(4)]
    customer = _create(writer)
    url = f"/api/customers/{customer['id']}"
    etags: set[str] = set()
    for round_ in range(30):
        for reader in readers:  # warm both workers' memories with the current version
            assert reader.get("/api/customers/").status_code == 200
        note = f"round {round_}"
        assert writer.put(url, json={"note": note}).status_code == 200
        for reader in readers:
            response = reader.get("/api/customers/")
            assert response.status_code == 200
            assert response.json()["data"][0]["note"] == note, "a worker served a list older than the last write"
            etags.add(response.headers["etag"])
    assert len(etags) == 30  # one body per version
