"""List responses carry an ETag, answer If-None-Match with 304, and are never
stale: every way a customer changes gives the list a new ETag and new content.

The app remembers list responses per account revision (app/api/cache.py);
these tests change customers through each write path of the service and the
seeder, and read the list through the API after each change.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from app.customers import service
from app.customers.seed import seed
from app.database.engine import session_scope
from tests.conftest import make_shop


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch):
    monkeypatch.setenv("CLIENTELE_RATE_LIMIT", "0")


def _create(shop, **fields) -> int:
    with session_scope() as session:
        return service.create(session, shop.id, {"first_name": "Ada", "last_name": "Lovelace", **fields}).id


def _list(client, shop, path="/api/customers/", **headers):
    return client.get(path, headers={**shop.headers, **headers})


def test_a_list_answers_304_to_its_own_etag_and_200_to_another(client):
    shop = make_shop()
    _create(shop, company="Analytical Engines")
    first = _list(client, shop)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10

    again = _list(client, shop, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert _list(client, shop, **{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert _list(client, shop, **{"If-None-Match": "*"}).status_code == 304
    other = _list(client, shop, **{"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200
    assert other.json() == first.json()


def test_each_query_has_its_own_etag(client):
    shop = make_shop()
    for name in ("Ada", "Grace", "Edsger"):
        _create(shop, first_name=name, is_favourite=name == "Grace")
    tags = {
        path: _list(client, shop, path).headers["etag"]
        for path in ("/api/customers/", "/api/customers/favourites", "/api/customers/?search=edsger", "/api/customers/?limit=1", "/api/customers/?limit=1&page=2")
    }
    assert len(set(tags.values())) == len(tags), tags  # five different bodies
    assert [c["first_name"] for c in _list(client, shop, "/api/customers/favourites").json()["data"]] == ["Grace"]
    v9 = client.get("/api/customers/", headers={**shop.headers, "X-Api-Version": "9"})
    assert v9.headers["etag"] != tags["/api/customers/"] and "phone_numbers" in v9.json()["data"][0]


def _names(response) -> list[str]:
    return [c["last_name"] for c in response.json()["data"]]


def test_every_change_to_the_customers_changes_the_list(client):
    """Create, update, favourite, delete, restore, bulk actions and seeding each give a new ETag and new content."""
    shop = make_shop()
    ada = _create(shop, last_name="Lovelace")
    seen = _list(client, shop)
    etags = [seen.headers["etag"]]

    def changed_list(path="/api/customers/"):
        response = _list(client, shop, path, **{"If-None-Match": etags[-1]})
        assert response.status_code == 200, "the list answered 304 after a change"
        etags.append(response.headers["etag"])
        return response

    grace = _create(shop, last_name="Hopper")
    assert _names(changed_list()) == ["Lovelace", "Hopper"]

    with session_scope() as session:
        customer = service.get_for_update(session, shop.id, ada)
        service.update_customer(session, customer, {"last_name": "King"})
    assert _names(changed_list()) == ["King", "Hopper"]

    with session_scope() as session:
        service.set_favourite(session, shop.id, grace, True)
    response = changed_list()
    assert [c["is_favourite"] for c in response.json()["data"]] == [False, True]

    with session_scope() as session:
        service.delete(session, shop.id, ada)
    assert _names(changed_list()) == ["Hopper"]

    with session_scope() as session:
        service.restore(session, shop.id, ada)
    assert _names(changed_list()) == ["King", "Hopper"]

    with session_scope() as session:
        service.bulk(session, shop.id, [ada, grace], "favourite")
    assert all(c["is_favourite"] for c in changed_list().json()["data"])

    with session_scope() as session:
        seed(session, shop.id, 3, rng_seed=1)
    assert changed_list().json()["total"] == 5

    # Each change gave a new tag (each list above answered 200 to the tag before it); a restore may bring
    # back the very list, and so the tag, of before the delete, which is as a strong tag should be.
    assert all(before != after for before, after in pairwise(etags))


def test_a_save_that_changes_nothing_keeps_the_etag(client):
    shop = make_shop()
    ada = _create(shop, last_name="Lovelace")
    etag = _list(client, shop).headers["etag"]
    with session_scope() as session:
        customer = service.get_for_update(session, shop.id, ada)
        service.update_customer(session, customer, {"last_name": "Lovelace"})
    assert _list(client, shop, **{"If-None-Match": etag}).status_code == 304


def test_changes_through_the_api_show_in_the_next_list(client):
    shop = make_shop()
    created = client.post("/api/customers/", json={"first_name": "Ada", "last_name": "Lovelace"}, headers=shop.headers).json()
    assert _names(_list(client, shop)) == ["Lovelace"]
    assert client.put(f"/api/customers/{created['id']}", json={"last_name": "King"}, headers=shop.headers).status_code == 200
    assert _names(_list(client, shop)) == ["King"]
    assert client.delete(f"/api/customers/{created['id']}", headers=shop.headers).status_code == 200
    assert _list(client, shop).json() == {"total": 0, "data": []}


def test_another_account_never_gets_a_remembered_list(client):
    one, two = make_shop(), make_shop()
    _create(one, last_name="Lovelace")
    first = _list(client, one)
    assert _names(first) == ["Lovelace"]
    other = _list(client, two, **{"If-None-Match": first.headers["etag"]})
    assert other.status_code == 200 and other.json() == {"total": 0, "data": []}
