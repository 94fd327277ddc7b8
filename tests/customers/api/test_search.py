"""Searching the API's customer lists."""

from __future__ import annotations

import pytest

from tests.customers.api.helpers import (
    create,
)


@pytest.fixture
def searchable(client, shop) -> dict[str, int]:
    bodies = {
        "anna": {"first_name": "Anna", "last_name": "Zimmermann", "email": "anna@example.org", "phone_number": "030 111222", "city": "Leipzig"},
        "firma": {"company": "Voltawerke GmbH", "email": "info@voltawerke.example", "phone_number": "089 765432", "city": "München", "is_favourite": True},
        "ben": {"first_name": "Ben", "last_name": "Krüger", "email": "ben@mail.example", "phone_number": "+49 40 999", "city": "Hamburg", "is_favourite": True},
    }
    return {key: create(client, shop, body)["id"] for key, body in bodies.items()}


def _found(client, shop, path: str, search: str) -> set[int]:
    response = client.get(path, params={"search": search}, headers=shop.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["data"])
    return {c["id"] for c in body["data"]}


@pytest.mark.parametrize(
    "search, expected",
    [
        ("Zimmermann", {"anna"}),  # name
        ("anna", {"anna"}),  # name, any case
        ("Voltawerke", {"firma"}),  # company
        ("@mail.example", {"ben"}),  # email
        ("765432", {"firma"}),  # phone
        ("Leipzig", {"anna"}),  # city
        ("hamburg", {"ben"}),  # city, any case
        ("example", {"anna", "firma", "ben"}),
        ("Anna Leipzig", {"anna"}),  # every word must match
        ("Anna Hamburg", set()),
        ("nobody-here", set()),
        ("%", set()),  # wildcards are matched literally
    ],
)
def test_search_on_the_list_matches_name_company_email_phone_and_city(client, shop, searchable, search, expected):
    assert _found(client, shop, "/api/customers/", search) == {searchable[k] for k in expected}


@pytest.mark.parametrize(
    "search, expected",
    [("Krüger", {"ben"}), ("GmbH", {"firma"}), ("München", {"firma"}), ("Leipzig", set()), ("example", {"firma", "ben"})],
)
def test_search_on_the_favourites_list_matches_favourites_only(client, shop, searchable, search, expected):
    assert _found(client, shop, "/api/customers/favourites/", search) == {searchable[k] for k in expected}


def test_search_finds_a_customer_by_the_values_a_put_changed(client, shop, searchable):
    client.put(f"/api/customers/{searchable['ben']}/", json={"last_name": "Zander", "city": "Dresden"}, headers=shop.headers)

    assert _found(client, shop, "/api/customers/", "Zander") == {searchable["ben"]}
    assert _found(client, shop, "/api/customers/", "Dresden") == {searchable["ben"]}
    assert _found(client, shop, "/api/customers/", "Krüger") == set()
    assert _found(client, shop, "/api/customers/", "Hamburg") == set()


def test_search_never_finds_a_deleted_customer(client, shop, searchable):
    client.delete(f"/api/customers/{searchable['anna']}/", headers=shop.headers)

    assert _found(client, shop, "/api/customers/", "Zimmermann") == set()


def test_search_ignores_case_of_umlauts(client, shop, searchable):
    assert _found(client, shop, "/api/customers/", "KRÜGER") == {searchable["ben"]}
    assert _found(client, shop, "/api/customers/", "münchen") == {searchable["firma"]}


def test_search_never_finds_another_accounts_customers(client, shop, other_shop, searchable):
    create(client, other_shop, first_name="Anna", last_name="Zimmermann")

    assert _found(client, other_shop, "/api/customers/", "Voltawerke") == set()
    assert len(_found(client, other_shop, "/api/customers/", "Anna")) == 1
    assert _found(client, shop, "/api/customers/", "Anna") == {searchable["anna"]}
