"""The API's customer list and favourites list: totals, pages, ``after`` and the parameters' checks."""

from __future__ import annotations

import re

import pytest

from tests.customers.api.helpers import (
    assert_envelope,
    create,
    seed,
)

# -- lists -----------------------------------------------------------------


def test_list_answers_total_and_data_with_at_most_30_by_default(client, shop):
    seed(shop, 35)

    response = client.get("/api/customers/", headers=shop.headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"total", "data"}
    assert body["total"] == 35
    assert len(body["data"]) == 30


def test_list_limit_is_capped_at_30(client, shop):
    seed(shop, 35)

    body = client.get("/api/customers/?limit=100", headers=shop.headers).json()

    assert body["total"] == 35
    assert len(body["data"]) == 30


@pytest.mark.parametrize("count, limit", [(7, 3), (35, 4), (30, 30), (31, 30)])
def test_list_pages_through_every_customer_once_in_one_order(client, shop, count, limit):
    seed(shop, count)
    number = -(-count // limit)

    pages = [client.get(f"/api/customers/?limit={limit}&page={n}", headers=shop.headers).json() for n in range(1, number + 1)]

    assert {p["total"] for p in pages} == {count}
    assert [len(p["data"]) for p in pages] == [limit] * (number - 1) + [count - limit * (number - 1)]
    ids = [c["id"] for p in pages for c in p["data"]]
    assert len(set(ids)) == count
    assert ids in (sorted(ids), sorted(ids, reverse=True))


def _walk(client, shop, first: str) -> tuple[list[dict], list[str]]:
    """Follow the Link rel="next" headers from ``first``; the pages and the links followed."""
    pages, links, url = [], [], first
    while url:
        response = client.get(url, headers=shop.headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        link = response.headers.get("link")
        url = None
        if link:
            url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
            links.append(url)
        assert len(pages) < 100
    return pages, links


@pytest.mark.parametrize("count, limit", [(7, 3), (9, 3), (1, 30), (0, 30)])
def test_after_walks_every_customer_once_in_id_order(client, shop, other_shop, count, limit):
    seed(shop, count)
    seed(other_shop, 2)
    paged = [c for n in range(1, -(-count // limit) + 1)
             for c in client.get(f"/api/customers/?limit={limit}&page={n}", headers=shop.headers).json()["data"]]

    pages, links = _walk(client, shop, f"/api/customers/?after=0&limit={limit}")

    ids = [c["id"] for p in pages for c in p["data"]]
    assert ids == sorted(ids) == [c["id"] for c in paged]  # the same customers, in the order of the pages
    assert {p["total"] for p in pages} == {count}
    assert len(pages) == max(1, -(-count // limit))  # no empty page at the end: the last full page has no link
    assert all(url.startswith("/api/customers/?after=") and f"limit={limit}" in url for url in links)


def test_page_links_name_the_next_page_until_the_last(client, shop):
    seed(shop, 7)

    pages, links = _walk(client, shop, "/api/customers/?limit=3")

    assert links == ["/api/customers/?page=2&limit=3", "/api/customers/?page=3&limit=3"]
    again = client.get("/api/customers/?limit=3", headers=shop.headers)  # remembered: the same link
    assert again.headers["link"] == '</api/customers/?page=2&limit=3>; rel="next"'
    assert [len(p["data"]) for p in pages] == [3, 3, 1]


def test_after_keeps_the_filter_and_the_search(client, shop):
    seed(shop, 10, favourites_every=3)  # favourites: Seed000, 003, 006, 009
    create(client, shop, first_name="Zebulon", last_name="Quist")
    create(client, shop, first_name="Zebulon", last_name="Quarz", is_favourite=True)

    favourites, fav_links = _walk(client, shop, "/api/customers/favourites/?after=0&limit=2")
    found, search_links = _walk(client, shop, "/api/customers/?after=0&limit=1&search=zebulon")

    assert [c["first_name"] for p in favourites for c in p["data"]] == ["Seed000", "Seed003", "Seed006", "Seed009", "Zebulon"]
    assert all(url.startswith("/api/customers/favourites/?after=") for url in fav_links)
    assert [c["last_name"] for p in found for c in p["data"]] == ["Quist", "Quarz"]
    assert search_links and all("search=zebulon" in url for url in search_links)


def test_after_reflects_changes_between_pages(client, shop):
    """A keyset walk neither repeats nor skips a customer when others are added or deleted meanwhile."""
    seed(shop, 4)
    first = client.get("/api/customers/?after=0&limit=2", headers=shop.headers)
    ids = [c["id"] for c in first.json()["data"]]
    rest = client.get(f"/api/customers/?after={ids[-1]}&limit=30", headers=shop.headers).json()["data"]
    client.delete(f"/api/customers/{rest[0]['id']}/", headers=shop.headers)
    newcomer = create(client, shop)

    after = client.get(f"/api/customers/?after={ids[-1]}&limit=30", headers=shop.headers).json()["data"]

    assert [c["id"] for c in after] == [rest[1]["id"], newcomer["id"]]


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", " 3", "³"])
def test_after_that_is_not_an_id_is_400(client, shop, value):
    response = client.get("/api/customers/", params={"after": value}, headers=shop.headers)

    error = assert_envelope(response, 400, "common.invalid_parameter")
    assert set(error["fields"]) == {"after"}


def test_after_and_page_together_are_400(client, shop):
    response = client.get("/api/customers/?after=0&page=2", headers=shop.headers)

    error = assert_envelope(response, 400, "common.invalid_parameter")
    assert error["fields"] == {"after": ["Send either page or after, not both."]}


def test_after_past_every_id_is_empty_data_with_the_total(client, shop):
    create(client, shop)

    for after in ("99999999", str(10**30)):
        response = client.get(f"/api/customers/?after={after}", headers=shop.headers)
        assert response.status_code == 200 and "link" not in response.headers
        assert response.json() == {"total": 1, "data": []}


def test_totals_stay_true_through_creates_updates_and_deletes(client, shop, other_shop):
    """The list totals equal the customers really there, whatever happened before."""

    def check():
        listed = client.get("/api/customers/?limit=30", headers=shop.headers).json()
        favourites = client.get("/api/customers/favourites/?limit=30", headers=shop.headers).json()
        assert listed["total"] == len(listed["data"])
        assert favourites["total"] == len(favourites["data"]) == sum(c["is_favourite"] for c in listed["data"])

    a = create(client, shop, is_favourite=True)
    b = create(client, shop)
    theirs = create(client, other_shop, is_favourite=True)
    check()
    client.post("/api/customers/", json={"company": "C", "is_favourite": True, "email": "bad"}, headers=shop.headers)
    check()
    client.put(f"/api/customers/{b['id']}/", json={"is_favourite": True}, headers=shop.headers)
    client.put(f"/api/customers/{b['id']}/", json={"is_favourite": True, "note": "again"}, headers=shop.headers)
    check()
    client.put(f"/api/customers/{a['id']}/", json={"is_favourite": False, "channel": 9}, headers=shop.headers)  # refused
    client.put(f"/api/customers/{theirs['id']}/", json={"is_favourite": False}, headers=shop.headers)  # not ours
    client.delete(f"/api/customers/{theirs['id']}/", headers=shop.headers)  # not ours
    check()
    client.delete(f"/api/customers/{a['id']}/", headers=shop.headers)
    client.delete(f"/api/customers/{a['id']}/", headers=shop.headers)
    check()
    assert client.get("/api/customers/", headers=shop.headers).json()["total"] == 1
    assert client.get("/api/customers/favourites/", headers=other_shop.headers).json()["total"] == 1


def test_page_past_the_end_is_empty_data_with_the_total(client, shop):
    seed(shop, 3)

    response = client.get("/api/customers/?limit=2&page=3", headers=shop.headers)

    assert response.status_code == 200
    assert response.json() == {"total": 3, "data": []}
    assert client.get("/api/customers/favourites/?page=50", headers=shop.headers).json() == {"total": 0, "data": []}


def test_page_far_past_the_end_is_empty_data_with_the_total(client, shop):
    create(client, shop)

    response = client.get(f"/api/customers/?page={10**20}", headers=shop.headers)

    assert response.status_code == 200
    assert response.json() == {"total": 1, "data": []}


def test_empty_account_lists_nothing(client, shop):
    assert client.get("/api/customers/", headers=shop.headers).json() == {"total": 0, "data": []}


@pytest.mark.parametrize("path", ["/api/customers/", "/api/customers/favourites/"])
@pytest.mark.parametrize("param", ["limit", "page"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "2e1", " 3"])
def test_limit_or_page_that_is_not_a_positive_integer_is_400(client, shop, path, param, value):
    response = client.get(path, params={param: value}, headers=shop.headers)

    error = assert_envelope(response, 400, "common.invalid_parameter")
    assert set(error["fields"]) == {param}


@pytest.mark.parametrize("param", ["limit", "page"])
def test_limit_or_page_with_a_non_ascii_digit_is_400(client, shop, param):
    response = client.get("/api/customers/", params={param: "³"}, headers=shop.headers)

    assert_envelope(response, 400, "common.invalid_parameter")


def test_favourites_list_holds_only_favourites(client, shop):
    favourite = create(client, shop, first_name="Fav", last_name="Orit", is_favourite=True)
    create(client, shop, first_name="Not", last_name="Fav")

    body = client.get("/api/customers/favourites/", headers=shop.headers).json()

    assert body == {"total": 1, "data": [favourite]}


def test_favourites_list_pages_like_the_list(client, shop):
    seed(shop, 40, favourites_every=1)

    first = client.get("/api/customers/favourites/", headers=shop.headers).json()
    second = client.get("/api/customers/favourites/?page=2", headers=shop.headers).json()
    small = client.get("/api/customers/favourites/?limit=5&page=9", headers=shop.headers).json()

    assert (first["total"], len(first["data"])) == (40, 30)
    assert (second["total"], len(second["data"])) == (40, 10)
    assert (small["total"], len(small["data"])) == (40, 0)
    assert all(c["is_favourite"] for c in first["data"] + second["data"])


def test_a_customer_leaves_the_favourites_when_unmarked(client, shop):
    customer = create(client, shop, is_favourite=True)

    client.put(f"/api/customers/{customer['id']}/", json={"is_favourite": False}, headers=shop.headers)

    assert client.get("/api/customers/favourites/", headers=shop.headers).json() == {"total": 0, "data": []}
