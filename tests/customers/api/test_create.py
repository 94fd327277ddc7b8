"""Creating customers through the API: nested and flat addresses, countries, titles, the name
rule, JSON types, and nothing half-written when a request fails."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import make_shop
from tests.customers.api.helpers import (
    ADDRESS_KEYS,
    REFERENCE_BODY,
    _headers,
    assert_envelope,
    create,
    fetch,
    field_errors,
    total,
)

# -- create ----------------------------------------------------------------


def test_create_with_nested_addresses_answers_201_and_nests_them_with_ids(client, shop):
    response = client.post("/api/customers/", json=REFERENCE_BODY, headers=_headers(shop, "10"))

    assert response.status_code == 201, response.text
    customer = response.json()
    assert isinstance(customer["id"], int)
    assert customer["account_scoped_id"] == 1
    billing = customer["billing_address"]
    assert set(billing) == ADDRESS_KEYS
    assert isinstance(billing["id"], int)
    assert {k: v for k, v in billing.items() if k != "id"} == REFERENCE_BODY["billing_address"]
    assert len(customer["shipping_address"]) == 1
    shipping = customer["shipping_address"][0]
    assert set(shipping) == ADDRESS_KEYS
    assert isinstance(shipping["id"], int) and shipping["id"] != billing["id"]
    assert {k: v for k, v in shipping.items() if k != "id"} == REFERENCE_BODY["shipping_address"][0]
    for name in ("first_name", "last_name", "company", "email", "note", "title", "tax_number", "phone_number", "channel"):
        assert customer[name] == REFERENCE_BODY[name], name
    for name in ("email_marketing_agreed", "is_b2b", "is_favourite", "is_vip"):
        assert customer[name] is True, name
    assert customer["is_confirmed"] is False
    # Read-only fields, as the reference's sample shows them.
    assert customer["middle_name"] is None
    assert customer["group"] is None
    assert customer["customer_note"] is None
    assert customer["total_sales"] == "0"
    # 10:49:52Z is 12:49:52 in Berlin in summer.
    assert customer["birthday"] == "1985-04-30T12:49:52+02:00"


def test_created_customer_reads_back_the_same_from_detail_and_list(client, shop):
    created = create(client, shop, REFERENCE_BODY)

    assert fetch(client, shop, created["id"]) == created
    listed = client.get("/api/customers/", headers=shop.headers).json()
    assert listed == {"total": 1, "data": [created]}


def test_birthday_renders_in_the_accounts_time_zone_in_winter_and_summer(client, shop):
    winter = create(client, shop, birthday="1985-01-30T10:00:00Z")
    summer = create(client, shop, birthday="1985-07-30T10:00:00Z")
    none = create(client, shop)

    assert winter["birthday"] == "1985-01-30T11:00:00+01:00"
    assert summer["birthday"] == "1985-07-30T12:00:00+02:00"
    assert none["birthday"] is None


def test_birthday_renders_in_another_accounts_own_time_zone(client):
    shop = make_shop(timezone="America/New_York")

    customer = create(client, shop, birthday="1985-04-30T10:49:52Z")

    assert customer["birthday"] == "1985-04-30T06:49:52-04:00"


def test_birthday_that_is_not_a_date_or_in_the_future_is_a_field_error(client, shop):
    for value in ("30.04.1985", "1985-13-45", "yesterday", "2999-01-01T00:00:00Z"):
        response = client.post("/api/customers/", json={"company": "C", "birthday": value}, headers=shop.headers)
        assert set(field_errors(response)) == {"birthday"}, value


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_birthday_at_the_edge_of_the_calendar_is_a_field_error(client, shop, value):
    logging.getLogger("clientele").disabled = True
    try:
        response = client.post("/api/customers/", json={"company": "C", "birthday": value}, headers=shop.headers)
    finally:
        logging.getLogger("clientele").disabled = False

    assert set(field_errors(response)) == {"birthday"}


def test_new_customer_has_defaults_for_everything_not_sent(client, shop):
    customer = create(client, shop, {"company": "Nur Firma GmbH"})

    assert customer["channel"] == 1
    for name in ("email_marketing_agreed", "is_b2b", "is_favourite", "is_vip", "is_confirmed"):
        assert customer[name] is False, name
    assert customer["total_sales"] == "0"
    assert customer["birthday"] is None
    assert customer["shipping_address"] == []
    assert customer["phone_number"] == ""
    assert customer["title"] == "" and customer["first_name"] == "" and customer["last_name"] == ""


def test_account_scoped_ids_count_1_2_3_within_each_account(client, shop, other_shop):
    ours = [create(client, shop)["account_scoped_id"] for _ in range(3)]
    theirs = [create(client, other_shop)["account_scoped_id"] for _ in range(2)]

    assert ours == [1, 2, 3]
    assert theirs == [1, 2]


def test_create_with_flat_address_fields_fills_the_billing_address(client, shop):
    flat = {"address1": "Voltastrasse 5", "address2": "Siedlung", "zipcode": "11-200", "city": "Berlin", "state": "Brandenburg", "country": "Deutschland"}

    customer = create(client, shop, {"company": "Inventorum", **flat})

    billing = customer["billing_address"]
    assert isinstance(billing["id"], int)
    assert {k: billing[k] for k in flat} == {**flat, "country": "DE"}
    for name in flat:
        assert name not in customer, f"flat field {name} must not be echoed at the top level"
    assert customer["shipping_address"] == []


@pytest.mark.parametrize("country", ["DE", "de", "Germany", "Deutschland", " deutschland "])
def test_country_as_code_english_or_german_name_is_stored_as_alpha2(client, shop, country):
    customer = create(
        client,
        shop,
        {"company": "C", "billing_address": {"country": country}, "shipping_address": [{"country": country}]},
    )

    assert customer["billing_address"]["country"] == "DE"
    assert customer["shipping_address"][0]["country"] == "DE"
    assert fetch(client, shop, customer["id"])["billing_address"]["country"] == "DE"


def test_country_name_in_the_flat_form_is_stored_as_alpha2(client, shop):
    customer = create(client, shop, {"company": "C", "country": "Österreich"})

    assert customer["billing_address"]["country"] == "AT"


def test_unknown_country_is_a_field_error_at_its_path(client, shop):
    response = client.post(
        "/api/customers/",
        json={"company": "C", "billing_address": {"country": "Atlantis"}, "shipping_address": [{"country": "DE"}, {"country": "XX"}]},
        headers=shop.headers,
    )

    assert set(field_errors(response)) == {"billing_address.country", "shipping_address.1.country"}


def test_unknown_country_in_the_flat_form_is_reported_under_the_flat_name(client, shop):
    response = client.post("/api/customers/", json={"company": "C", "country": "Narnia"}, headers=shop.headers)

    assert set(field_errors(response)) == {"country"}


@pytest.mark.parametrize("title", ["Mr.", "Mrs.", "Ms.", ""])
def test_title_accepts_mr_mrs_ms_or_empty(client, shop, title):
    customer = create(client, shop, title=title, billing_address={"title": title})

    assert customer["title"] == title
    assert customer["billing_address"]["title"] == title


@pytest.mark.parametrize("title", ["Dr.", "Mr", "mr.", "Herr"])
def test_title_outside_the_list_is_a_field_error(client, shop, title):
    response = client.post("/api/customers/", json={"company": "C", "title": title}, headers=shop.headers)

    assert set(field_errors(response)) == {"title"}


def test_title_outside_the_list_in_an_address_is_a_field_error_at_its_path(client, shop):
    response = client.post(
        "/api/customers/",
        json={"company": "C", "billing_address": {"title": "Prof."}, "shipping_address": [{"title": "Dr."}]},
        headers=shop.headers,
    )

    assert set(field_errors(response)) == {"billing_address.title", "shipping_address.0.title"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"first_name": "Ana"},
        {"last_name": "Schmidt"},
        {"first_name": "  ", "last_name": "  ", "company": "  "},
        {"first_name": None, "last_name": None, "company": None},
    ],
    ids=["nothing", "first-only", "last-only", "blank", "null"],
)
def test_name_rule_is_reported_on_first_name_last_name_and_company_at_once(client, shop, body):
    response = client.post("/api/customers/", json=body, headers=shop.headers)

    # As in the reference's 400 sample.
    assert field_errors(response) == {
        "first_name": ["Name or company must be set"],
        "last_name": ["Name or company must be set"],
        "company": ["Name or company must be set"],
    }


@pytest.mark.parametrize(
    "body",
    [{"company": "Inventorum"}, {"first_name": "John", "last_name": "Schmidt"}],
    ids=["company", "both-names"],
)
def test_company_alone_or_both_names_satisfy_the_name_rule(client, shop, body):
    create(client, shop, body)


def test_every_failing_field_is_reported_at_once_with_nested_paths(client, shop):
    body = {
        "first_name": "x" * 101,
        "last_name": "Schmidt",
        "title": "Dr.",
        "email": "not-an-email",
        "phone_number": "call me maybe",
        "birthday": "someday",
        "channel": 0,
        "is_vip": "yes",
        "billing_address": {"zipcode": "1" * 21, "country": "Atlantis"},
        "shipping_address": [{"city": "Bremen"}, {"city": "y" * 101}],
    }

    response = client.post("/api/customers/", json=body, headers=shop.headers)

    fields = field_errors(response)
    assert set(fields) == {
        "first_name",
        "title",
        "email",
        "phone_number",
        "birthday",
        "channel",
        "is_vip",
        "billing_address.zipcode",
        "billing_address.country",
        "shipping_address.1.city",
    }


def test_shipping_address_errors_are_reported_by_index(client, shop):
    response = client.post(
        "/api/customers/",
        json={"company": "C", "shipping_address": [{"city": "y" * 101}, {"zipcode": "ok"}, {"zipcode": "9" * 21}]},
        headers=shop.headers,
    )

    assert set(field_errors(response)) == {"shipping_address.0.city", "shipping_address.2.zipcode"}


def test_too_long_zipcode_in_the_flat_form_is_reported_under_the_flat_name(client, shop):
    response = client.post("/api/customers/", json={"company": "C", "zipcode": "1" * 21}, headers=shop.headers)

    assert set(field_errors(response)) == {"zipcode"}


@pytest.mark.parametrize("name", ["email_marketing_agreed", "is_b2b", "is_favourite", "is_vip", "is_confirmed"])
@pytest.mark.parametrize("value", ["true", "yes", 1, 0, "false", [True], {"v": True}], ids=repr)
def test_booleans_must_be_json_booleans(client, shop, name, value):
    response = client.post("/api/customers/", json={"company": "C", name: value}, headers=shop.headers)

    assert set(field_errors(response)) == {name}


def test_json_booleans_are_stored_as_sent(client, shop):
    sent = {"email_marketing_agreed": True, "is_b2b": False, "is_favourite": True, "is_vip": False, "is_confirmed": True}

    customer = create(client, shop, {"company": "C", **sent})

    assert {k: customer[k] for k in sent} == sent


@pytest.mark.parametrize("raw, value", [("2.0", 2), ("1e1", 10)])
def test_channel_may_be_an_integral_number_written_with_a_fraction(client, shop, raw, value):
    """JSON Schema calls 2.0 an integer; a client that serialises numbers as floats sends it."""
    body = f'{{"company": "C", "channel": {raw}}}'
    response = client.post("/api/customers/", content=body, headers={**shop.headers, "Content-Type": "application/json"})

    assert response.status_code == 201, response.text
    assert response.json()["channel"] == value


@pytest.mark.parametrize("value", ["1", 1.5, True], ids=repr)
def test_channel_must_be_a_json_integer(client, shop, value):
    response = client.post("/api/customers/", json={"company": "C", "channel": value}, headers=shop.headers)

    assert set(field_errors(response)) == {"channel"}


@pytest.mark.parametrize("value", [0, -1], ids=repr)
def test_channel_must_be_positive(client, shop, value):
    response = client.post("/api/customers/", json={"company": "C", "channel": value}, headers=shop.headers)

    assert set(field_errors(response)) == {"channel"}


def test_text_fields_must_be_json_strings(client, shop):
    response = client.post(
        "/api/customers/",
        json={"company": "C", "email": 5, "note": ["a"], "billing_address": {"city": 10}},
        headers=shop.headers,
    )

    assert set(field_errors(response)) == {"email", "note", "billing_address.city"}


def test_addresses_of_the_wrong_json_type_are_field_errors(client, shop):
    response = client.post(
        "/api/customers/", json={"company": "C", "billing_address": "Berlin", "shipping_address": {"city": "Bremen"}}, headers=shop.headers
    )

    assert set(field_errors(response)) == {"billing_address", "shipping_address"}


def test_email_need_not_be_unique(client, shop):
    first = create(client, shop, email="same@example.com")
    second = create(client, shop, email="same@example.com")

    assert first["id"] != second["id"]
    assert second["email"] == "same@example.com"


def test_channel_defaults_to_1_and_can_be_set_at_creation(client, shop):
    assert create(client, shop)["channel"] == 1
    assert create(client, shop, channel=2)["channel"] == 2


def test_put_changing_the_channel_is_a_field_error_and_changes_nothing(client, shop):
    customer = create(client, shop, channel=2, note="before")

    response = client.put(f"/api/customers/{customer['id']}/", json={"channel": 3, "note": "after"}, headers=shop.headers)

    assert set(field_errors(response)) == {"channel"}
    assert fetch(client, shop, customer["id"]) == customer


def test_put_sending_the_current_channel_is_fine(client, shop):
    customer = create(client, shop, channel=2)

    response = client.put(f"/api/customers/{customer['id']}/", json={"channel": 2, "note": "same channel"}, headers=shop.headers)

    assert response.status_code == 200, response.text
    assert response.json()["channel"] == 2
    assert response.json()["note"] == "same channel"


def test_text_with_a_nul_character_is_never_a_server_error(client, shop):
    logging.getLogger("clientele").disabled = True
    try:
        created = client.post("/api/customers/", json={"company": "C\u0000", "note": "a\u0000b"}, headers=shop.headers)
        searched = client.get("/api/customers/", params={"search": "a\u0000"}, headers=shop.headers)
    finally:
        logging.getLogger("clientele").disabled = False

    assert created.status_code in (201, 400), created.text
    assert searched.status_code in (200, 400), searched.text


# -- nothing half-written ------------------------------------------------


def test_invalid_create_leaves_the_account_unchanged(client, shop):
    create(client, shop)

    response = client.post(
        "/api/customers/",
        json={"first_name": "Ana", "last_name": "Schmidt", "billing_address": {"city": "Berlin"}, "shipping_address": [{"zipcode": "9" * 21}]},
        headers=shop.headers,
    )

    assert response.status_code == 400
    assert total(client, shop) == 1
    # No customer number was used up either.
    assert create(client, shop)["account_scoped_id"] == 2


def test_invalid_put_leaves_the_customer_unchanged(client, shop):
    customer = create(client, shop, REFERENCE_BODY)

    response = client.put(
        f"/api/customers/{customer['id']}/",
        json={"note": "changed", "is_vip": False, "city": "Hamburg", "shipping_address": [], "email": "broken"},
        headers=shop.headers,
    )

    assert set(field_errors(response)) == {"email"}
    assert fetch(client, shop, customer["id"]) == customer


def test_body_over_one_mebibyte_is_413_and_creates_nothing(client, shop):
    body = json.dumps({"company": "C", "note": "x" * (1024 * 1024)}).encode()

    response = client.post("/api/customers/", content=body, headers={**shop.headers, "Content-Type": "application/json"})

    assert_envelope(response, 413, "common.request_too_large")
    assert total(client, shop) == 0


def test_concurrent_creates_get_distinct_consecutive_numbers(client, shop):
    """Six writers at once (through the service, each with its own session) never share a number."""
    from concurrent.futures import ThreadPoolExecutor

    from app.customers import service
    from app.database.engine import session_scope

    def create_three(n: int) -> list[int]:
        with session_scope() as session:
            return [service.create(session, shop.id, {"first_name": f"T{n}", "last_name": str(i)}).account_scoped_id for i in range(3)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(create_three, n) for n in range(6)]
        numbers = [x for f in futures for x in f.result(timeout=60)]

    assert sorted(numbers) == list(range(1, 19))
    body = client.get("/api/customers/", headers=shop.headers).json()
    assert body["total"] == 18
    assert sorted(c["account_scoped_id"] for c in body["data"]) == list(range(1, 19))
