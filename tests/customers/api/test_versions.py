"""API versions (``X-Api-Version``): phone numbers as a list up to v9, as a string from v10; bad versions."""

from __future__ import annotations

import pytest

from tests.customers.api.helpers import (
    PHONE_ENTRY_KEYS,
    _headers,
    assert_envelope,
    create,
    fetch,
    field_errors,
    total,
)

# -- versions --------------------------------------------------------------


def test_v9_shows_phone_numbers_as_a_list_of_entries(client, shop):
    customer = create(client, shop, {"company": "C", "phone_number": "030 12341234", "country_code": "49"})

    for response in (
        client.get(f"/api/customers/{customer['id']}/", headers=_headers(shop, "9")),
        client.get("/api/customers/", headers=_headers(shop, "9")),
    ):
        assert response.status_code == 200
        body = response.json()
        shown = body["data"][0] if "data" in body else body
        assert "phone_number" not in shown
        assert len(shown["phone_numbers"]) == 1
        entry = shown["phone_numbers"][0]
        assert set(entry) == PHONE_ENTRY_KEYS
        assert isinstance(entry["id"], int)
        assert {k: entry[k] for k in ("country_code", "type", "national_number")} == {
            "country_code": "49",
            "type": "normal",
            "national_number": "030 12341234",
        }


@pytest.mark.parametrize("version", ["3", "9"])
def test_v9_and_below_show_no_phone_as_an_empty_list(client, shop, version):
    customer = create(client, shop)

    body = fetch(client, shop, customer["id"], version)

    assert body["phone_numbers"] == []
    assert "phone_number" not in body


def test_v9_request_with_phone_numbers_stores_the_phone(client, shop):
    body = {"company": "C", "phone_numbers": [{"country_code": "49", "type": "mobile", "national_number": "0171 2345678"}]}

    response = client.post("/api/customers/", json=body, headers=_headers(shop, "9"))

    assert response.status_code == 201, response.text
    entry = response.json()["phone_numbers"][0]
    assert {k: entry[k] for k in ("country_code", "type", "national_number")} == body["phone_numbers"][0]
    current = fetch(client, shop, response.json()["id"])
    assert current["phone_number"] == "0171 2345678"
    assert current["country_code"] == "49"


def test_v9_put_with_phone_numbers_changes_and_clears_the_phone(client, shop):
    customer = create(client, shop, {"company": "C", "phone_number": "030 1"})

    changed = client.put(
        f"/api/customers/{customer['id']}/", json={"phone_numbers": [{"national_number": "040 2"}]}, headers=_headers(shop, "9")
    )
    kept = client.put(f"/api/customers/{customer['id']}/", json={"note": "x"}, headers=_headers(shop, "9"))
    cleared = client.put(f"/api/customers/{customer['id']}/", json={"phone_numbers": []}, headers=_headers(shop, "9"))

    assert changed.json()["phone_numbers"][0]["national_number"] == "040 2"
    assert kept.json()["phone_numbers"][0]["national_number"] == "040 2"
    assert cleared.json()["phone_numbers"] == []


def test_v9_phone_entry_errors_are_reported_at_their_path(client, shop):
    response = client.post(
        "/api/customers/", json={"company": "C", "phone_numbers": [{"national_number": "call me"}]}, headers=_headers(shop, "9")
    )

    assert set(field_errors(response)) == {"phone_numbers.0.national_number"}


@pytest.mark.parametrize("version", [None, "10", "12"])
def test_v10_and_missing_version_show_phone_number_as_a_string(client, shop, version):
    customer = create(client, shop, {"company": "C", "phone_number": "978437427278"}, version=version)

    for body in (customer, fetch(client, shop, customer["id"], version)):
        assert body["phone_number"] == "978437427278"
        assert "phone_numbers" not in body


@pytest.mark.parametrize("version", ["abc", "2", "13", "0", "-1", "9.0", "v10", ""])
def test_bad_api_version_is_400_in_the_envelope(client, shop, version):
    customer = create(client, shop)

    for response in (
        client.get("/api/customers/", headers=_headers(shop, version)),
        client.get(f"/api/customers/{customer['id']}/", headers=_headers(shop, version)),
        client.post("/api/customers/", json={"company": "C"}, headers=_headers(shop, version)),
        client.put(f"/api/customers/{customer['id']}/", json={"note": "x"}, headers=_headers(shop, version)),
    ):
        error = assert_envelope(response, 400)
        assert error["key"] != "common.serializer_error"
    assert fetch(client, shop, customer["id"]) == customer
    assert total(client, shop) == 1
