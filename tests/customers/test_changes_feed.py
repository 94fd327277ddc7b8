"""The changes feed: creates, updates and deletes in commit order, keyset-paged, scoped to the token's account."""

from __future__ import annotations

import pytest

from tests.changes import Replica, all_customers
from tests.conftest import make_shop


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch):
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "0")


def _create(client, shop, **fields) -> dict:
    response = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace", **fields}, headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _changes(client, shop, after: int = 0, limit: int | None = None, headers: dict | None = None):
    url = f"/api/customers/changes/?after={after}" + (f"&limit={limit}" if limit else "")
    return client.get(url, headers={**shop.headers, **(headers or {})})


def test_creates_updates_and_deletes_in_order_with_the_fields_changed(client, shop):
    ada = _create(client, shop, billing_address={"city": "Berlin"})
    bob = _create(client, shop, first_name="Bob", phone_number="030 1234567")
    assert client.put(f"/api/customers/{ada['id']}/", json={"note": "VIP", "billing_address": {"city": "Köln"}}, headers=shop.headers).status_code == 200
    assert client.put(f"/api/customers/{bob['id']}/", json={"phone_number": "030 7654321"}, headers=shop.headers).status_code == 200
    assert client.delete(f"/api/customers/{bob['id']}/", headers=shop.headers).status_code == 200

    response = _changes(client, shop)

    assert response.status_code == 200
    assert "link" not in response.headers  # fewer than a page
    body = response.json()
    assert [(c["id"], c["type"], c["customer_id"]) for c in body["data"]] == [
        (1, "created", ada["id"]), (2, "created", bob["id"]), (3, "updated", ada["id"]), (4, "updated", bob["id"]), (5, "deleted", bob["id"]),
    ]
    assert body["cursor"] == 5
    created, _, updated, phone, deleted = body["data"]
    assert {"first_name", "last_name", "billing_address"} <= set(created["changed"])
    assert updated["changed"] == ["billing_address", "note"]
    assert phone["changed"] == ["phone_number"]
    assert deleted["changed"] == [] and deleted["customer"] is None
    # The customer as it is now, in the shape of the version asked for.
    assert updated["customer"] == client.get(f"/api/customers/{ada['id']}/", headers=shop.headers).json()
    assert created["customer"]["billing_address"]["city"] == "Köln"
    assert updated["at"].endswith(("+01:00", "+02:00"))  # the account's time zone (Europe/Berlin)

    v9 = _changes(client, shop, headers={"X-Api-Version": "9"}).json()["data"]
    assert v9[3]["changed"] == ["phone_numbers"]
    assert "phone_numbers" in v9[0]["customer"] and "phone_number" not in v9[0]["customer"]

    # From the cursor: nothing new, the same cursor to poll with.
    later = _changes(client, shop, after=5).json()
    assert later == {"data": [], "cursor": 5}


def test_a_restore_is_a_change_and_the_replica_gets_the_customer_back(client, shop):
    from app.customers import service
    from app.database.engine import session_scope

    ada = _create(client, shop)
    client.delete(f"/api/customers/{ada['id']}/", headers=shop.headers)
    replica = Replica()
    replica.poll(client, headers=shop.headers)
    assert replica.customers == {}
    with session_scope() as session:
        assert service.restore(session, shop.id, ada["id"]) is not None

    replica.poll(client, headers=shop.headers)

    last = _changes(client, shop, after=2).json()["data"]
    assert [c["type"] for c in last] == ["restored"]
    assert replica.customers == all_customers(client, shop.headers)
    assert list(replica.customers) == [ada["id"]]


def test_pages_follow_link_next_and_a_replica_ends_with_the_accounts_customers(client, shop):
    from app.customers import service
    from app.database.engine import session_scope

    ids = [_create(client, shop, first_name=f"N{i}")["id"] for i in range(12)]
    with session_scope() as session:
        service.bulk(session, shop.id, ids[:5], "favourite")
        service.bulk(session, shop.id, ids[3:7], "delete")
    for customer_id in ids[8:10]:
        client.put(f"/api/customers/{customer_id}/", json={"company": "Acme"}, headers=shop.headers)

    first = _changes(client, shop, limit=5)
    assert first.headers["link"] == '</api/customers/changes/?after=5&limit=5>; rel="next"'
    replica = Replica()
    read = replica.poll(client, limit=5, headers=shop.headers)

    assert read == 12 + 5 + 4 + 2
    assert replica.customers == all_customers(client, shop.headers)
    assert len(replica.customers) == 8


def test_only_the_tokens_account_and_its_read_scope(client, shop):
    other = make_shop()
    _create(client, other)
    mine = _create(client, shop)
    assert [c["customer_id"] for c in _changes(client, shop).json()["data"]] == [mine["id"]]

    writer = make_shop(scopes=("customers:create",))
    refused = _changes(client, writer)
    assert refused.status_code == 403
    assert refused.json()["error"]["key"] == "auth.insufficient_scope"
    assert client.get("/api/customers/changes/").status_code == 401


@pytest.mark.parametrize("query", ["after=-1", "after=x", "after=1.5", "limit=0", "limit=abc"])
def test_bad_parameters_answer_400_with_the_field(client, shop, query):
    response = client.get(f"/api/customers/changes/?{query}", headers=shop.headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["key"] == "common.invalid_parameter"
    assert list(error["fields"]) == [query.split("=")[0]]


def test_a_cursor_beyond_the_last_change_waits_there(client, shop):
    _create(client, shop)
    assert _changes(client, shop, after=10**30).json() == {"data": [], "cursor": 2**63 - 1}
