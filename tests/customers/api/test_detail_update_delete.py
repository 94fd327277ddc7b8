"""Reading one customer, changing it with PUT, deleting it; and the paths with and without trailing slash."""

from __future__ import annotations

import pytest

from tests.customers.api.helpers import (
    NOT_FOUND,
    REFERENCE_BODY,
    _headers,
    create,
    fetch,
    field_errors,
)

# -- detail, update, delete ----------------------------------------------


def test_detail_is_the_customer_object_itself(client, shop):
    customer = create(client, shop, REFERENCE_BODY)

    body = fetch(client, shop, customer["id"])

    assert "data" not in body and "total" not in body
    assert body == customer


def test_detail_of_an_unknown_id_is_404_in_the_envelope(client, shop):
    response = client.get("/api/customers/987654321/", headers=shop.headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_put_changes_only_the_fields_sent(client, shop):
    customer = create(client, shop, REFERENCE_BODY)

    response = client.put(f"/api/customers/{customer['id']}/", json={"note": "Changed note"}, headers=shop.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {**customer, "note": "Changed note"}
    assert fetch(client, shop, customer["id"]) == {**customer, "note": "Changed note"}


def test_put_keeps_absent_booleans_and_changes_sent_ones(client, shop):
    customer = create(client, shop, REFERENCE_BODY)  # four booleans true, is_confirmed false

    updated = client.put(f"/api/customers/{customer['id']}/", json={"is_vip": False, "is_confirmed": True}, headers=shop.headers).json()

    assert updated["is_vip"] is False
    assert updated["is_confirmed"] is True
    assert updated["is_b2b"] is True
    assert updated["is_favourite"] is True
    assert updated["email_marketing_agreed"] is True


def test_put_of_one_billing_field_keeps_the_other_billing_fields(client, shop):
    customer = create(client, shop, REFERENCE_BODY)
    billing = customer["billing_address"]

    nested = client.put(f"/api/customers/{customer['id']}/", json={"billing_address": {"zipcode": "10115"}}, headers=shop.headers)
    flat = client.put(f"/api/customers/{customer['id']}/", json={"city": "Potsdam"}, headers=shop.headers)

    assert nested.status_code == 200, nested.text
    assert nested.json()["billing_address"] == {**billing, "zipcode": "10115"}
    assert flat.status_code == 200, flat.text
    assert flat.json()["billing_address"] == {**billing, "zipcode": "10115", "city": "Potsdam"}
    assert flat.json()["shipping_address"] == customer["shipping_address"]


def test_put_without_shipping_address_keeps_the_stored_ones(client, shop):
    customer = create(client, shop, {**REFERENCE_BODY, "shipping_address": [{"city": "Bremen"}, {"city": "Köln"}]})

    updated = client.put(f"/api/customers/{customer['id']}/", json={"first_name": "Anna"}, headers=shop.headers).json()

    assert updated["shipping_address"] == customer["shipping_address"]


def test_put_with_a_shorter_shipping_address_list_updates_by_position_and_removes_the_rest(client, shop):
    customer = create(client, shop, {**REFERENCE_BODY, "shipping_address": [{"city": "Bremen", "address1": "Am Wall 1"}, {"city": "Köln"}]})
    bremen = customer["shipping_address"][0]

    response = client.put(f"/api/customers/{customer['id']}/", json={"shipping_address": [{"city": "Hamburg", "zipcode": "20095"}]}, headers=shop.headers)

    assert response.status_code == 200, response.text
    shipping = response.json()["shipping_address"]
    assert shipping == [{**bremen, "city": "Hamburg", "zipcode": "20095"}]  # the same address (its id), its other fields kept
    assert response.json()["billing_address"] == customer["billing_address"]
    assert fetch(client, shop, customer["id"])["shipping_address"] == shipping


def test_put_resending_the_shipping_addresses_without_ids_shows_and_keeps_them(client, shop):
    customer = create(client, shop, {"company": "Echo", "shipping_address": [{"city": "Bremen", "country": "DE"}, {"city": "Köln", "country": "DE"}]})
    before = client.get(f"/api/customers/{customer['id']}/", headers=shop.headers)

    for version in (None, "9"):
        response = client.put(
            f"/api/customers/{customer['id']}/",
            json={"shipping_address": [{"city": "Bremen", "country": "DE"}, {"city": "Köln", "country": "DE"}]},
            headers=_headers(shop, version),
        )

        assert response.status_code == 200, response.text
        assert response.headers["etag"] == before.headers["etag"]  # nothing changed, nothing written
        assert response.json()["shipping_address"] == customer["shipping_address"]
    assert fetch(client, shop, customer["id"]) == customer


def test_put_that_changes_nothing_answers_the_stored_customer(client, shop):
    """An address sent back as it is stored changes nothing, and the answer shows what is stored
    (an id the customer does not have is a field error: tests/customers/test_phone_numbers.py)."""
    customer = create(client, shop, {"company": "Echo", "shipping_address": [{"city": "Bremen", "country": "DE"}]})
    bremen = customer["shipping_address"][0]

    response = client.put(f"/api/customers/{customer['id']}/", json={"shipping_address": [bremen]}, headers=shop.headers)

    assert response.status_code == 200, response.text
    assert response.json() == customer == fetch(client, shop, customer["id"])


def test_put_of_shipping_addresses_without_ids_updates_them_in_place_and_adds_the_ones_beyond(client, shop):
    customer = create(client, shop, {"company": "Echo", "shipping_address": [{"city": "Bremen", "zipcode": "28195", "country": "DE"}]})
    bremen = customer["shipping_address"][0]

    response = client.put(
        f"/api/customers/{customer['id']}/", json={"shipping_address": [{"city": "Bremerhaven"}, {"city": "Köln"}]}, headers=shop.headers
    )

    assert response.status_code == 200, response.text
    first, second = response.json()["shipping_address"]
    assert first == {**bremen, "city": "Bremerhaven"}
    assert second["id"] not in (None, bremen["id"]) and second["city"] == "Köln" and second["zipcode"] == ""
    assert fetch(client, shop, customer["id"])["shipping_address"] == [first, second]


def test_put_of_a_shipping_address_by_id_changes_only_the_fields_sent(client, shop):
    customer = create(client, shop, REFERENCE_BODY, shipping_address=[REFERENCE_BODY["shipping_address"][0], {"city": "Köln", "first_name": "Eva"}])
    bremen, koeln = customer["shipping_address"]

    # By id, in another order than stored: each entry is the address its id names.
    response = client.put(
        f"/api/customers/{customer['id']}/",
        json={"shipping_address": [{"id": koeln["id"], "zipcode": "50667"}, {"id": bremen["id"], "city": "Bremerhaven"}]},
        headers=shop.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["shipping_address"] == [{**koeln, "zipcode": "50667"}, {**bremen, "city": "Bremerhaven"}]
    assert fetch(client, shop, customer["id"])["shipping_address"] == response.json()["shipping_address"]


def test_put_with_an_empty_shipping_address_list_removes_them_all(client, shop):
    customer = create(client, shop, REFERENCE_BODY)

    response = client.put(f"/api/customers/{customer['id']}/", json={"shipping_address": []}, headers=shop.headers)

    assert response.status_code == 200, response.text
    assert response.json()["shipping_address"] == []


def test_put_keeps_a_shipping_address_sent_back_with_its_id(client, shop):
    customer = create(client, shop, {**REFERENCE_BODY, "shipping_address": [{"city": "Bremen"}, {"city": "Köln"}]})
    _bremen, koeln = customer["shipping_address"]

    response = client.put(f"/api/customers/{customer['id']}/", json={"shipping_address": [{**koeln, "zipcode": "50667"}]}, headers=shop.headers)

    assert response.status_code == 200, response.text
    assert response.json()["shipping_address"] == [{**koeln, "zipcode": "50667"}]


def test_put_keeps_the_birthday_when_absent_and_changes_it_when_sent(client, shop):
    customer = create(client, shop, REFERENCE_BODY)

    kept = client.put(f"/api/customers/{customer['id']}/", json={"note": "x"}, headers=shop.headers).json()
    changed = client.put(f"/api/customers/{customer['id']}/", json={"birthday": "1990-12-24T18:00:00Z"}, headers=shop.headers).json()
    cleared = client.put(f"/api/customers/{customer['id']}/", json={"birthday": None}, headers=shop.headers).json()

    assert kept["birthday"] == "1985-04-30T12:49:52+02:00"
    assert changed["birthday"] == "1990-12-24T19:00:00+01:00"
    assert cleared["birthday"] is None


def test_put_applies_the_name_rule_to_the_result(client, shop):
    company_only = create(client, shop, {"company": "Nur Firma"})
    with_names = create(client, shop, {"first_name": "Ana", "last_name": "Schmidt", "company": "Firma"})

    refused = client.put(f"/api/customers/{company_only['id']}/", json={"company": ""}, headers=shop.headers)
    allowed = client.put(f"/api/customers/{with_names['id']}/", json={"company": ""}, headers=shop.headers)

    assert set(field_errors(refused)) == {"first_name", "last_name", "company"}
    assert allowed.status_code == 200 and allowed.json()["company"] == ""


def test_put_validates_like_create(client, shop):
    customer = create(client, shop)

    response = client.put(
        f"/api/customers/{customer['id']}/",
        json={"title": "Dr.", "is_vip": "true", "shipping_address": [{"zipcode": "9" * 21}], "billing_address": {"country": "Atlantis"}},
        headers=shop.headers,
    )

    assert set(field_errors(response)) == {"title", "is_vip", "shipping_address.0.zipcode", "billing_address.country"}


def test_put_of_an_unknown_id_is_404(client, shop):
    response = client.put("/api/customers/987654321/", json={"note": "x"}, headers=shop.headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_delete_answers_200_then_the_customer_is_gone_for_every_read(client, shop):
    customer = create(client, shop)
    keep = create(client, shop)

    response = client.delete(f"/api/customers/{customer['id']}/", headers=shop.headers)

    assert response.status_code == 200
    get = client.get(f"/api/customers/{customer['id']}/", headers=shop.headers)
    assert get.status_code == 404 and get.json() == NOT_FOUND
    put = client.put(f"/api/customers/{customer['id']}/", json={"note": "x"}, headers=shop.headers)
    assert put.status_code == 404 and put.json() == NOT_FOUND
    assert client.get("/api/customers/", headers=shop.headers).json() == {"total": 1, "data": [keep]}


def test_second_delete_is_404(client, shop):
    customer = create(client, shop)
    assert client.delete(f"/api/customers/{customer['id']}/", headers=shop.headers).status_code == 200

    response = client.delete(f"/api/customers/{customer['id']}/", headers=shop.headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_id_beyond_the_database_integer_range_is_404(client, shop, method):
    response = client.request(method, f"/api/customers/{10**20}/", json={"note": "x"} if method == "PUT" else None, headers=shop.headers)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- paths -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/customers", "/api/customers/favourites", "/api/customers/{id}"])
def test_get_with_and_without_trailing_slash_answers_the_same_without_redirect(client, shop, path):
    customer = create(client, shop, is_favourite=True)
    path = path.format(id=customer["id"])

    without = client.get(path, headers=shop.headers, follow_redirects=False)
    with_slash = client.get(path + "/", headers=shop.headers, follow_redirects=False)

    assert without.status_code == with_slash.status_code == 200
    assert without.json() == with_slash.json()


def test_post_put_delete_without_trailing_slash_work_without_redirect(client, shop):
    created = client.post("/api/customers", json={"company": "Ohne Slash"}, headers=shop.headers, follow_redirects=False)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]

    updated = client.put(f"/api/customers/{customer_id}", json={"note": "x"}, headers=shop.headers, follow_redirects=False)
    assert updated.status_code == 200 and updated.json()["note"] == "x"

    deleted = client.delete(f"/api/customers/{customer_id}", headers=shop.headers, follow_redirects=False)
    assert deleted.status_code == 200
    assert client.get(f"/api/customers/{customer_id}", headers=shop.headers).status_code == 404
