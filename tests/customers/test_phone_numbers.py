"""Phone numbers: a customer has any number of them (API v9's ``phone_numbers``, v10's ``phone_number`` is the
first), each checked and normalised by the phone-number library; and what else the reference documents:
its ``county_code`` spelling, POST as an update, shipping entries that name addresses by id."""

from __future__ import annotations

import pytest

from tests.conftest import make_shop
from tests.customers.api.helpers import _headers, field_errors

SEVERAL = [
    {"national_number": "030 12341234", "country_code": "49", "type": "normal"},
    {"national_number": "0171 2345678", "country_code": "49", "type": "mobile"},
    {"national_number": "+44 20 7946 0958", "type": "office"},
]


def _create(client, shop, body, version="9"):
    response = client.post("/api/customers/", json={"company": "C", **body}, headers=_headers(shop, version))
    assert response.status_code == 201, response.text
    return response.json()


def _numbers(customer) -> list[tuple[str, str, str]]:
    return [(p["national_number"], p["country_code"], p["type"]) for p in customer["phone_numbers"]]


def test_v9_keeps_every_number_sent_in_order_and_v10_shows_the_first(client, shop):
    created = _create(client, shop, {"phone_numbers": SEVERAL})

    expected = [("030 12341234", "49", "normal"), ("0171 2345678", "49", "mobile"), ("020 7946 0958", "44", "office")]
    assert _numbers(created) == expected
    ids = [p["id"] for p in created["phone_numbers"]]
    assert len(set(ids)) == 3 and all(isinstance(i, int) for i in ids)
    again = client.get(f"/api/customers/{created['id']}/", headers=_headers(shop, "9")).json()
    assert _numbers(again) == expected and [p["id"] for p in again["phone_numbers"]] == ids
    listed = client.get("/api/customers/", headers=_headers(shop, "9")).json()["data"]
    assert [_numbers(c) for c in listed] == [expected]
    v10 = client.get(f"/api/customers/{created['id']}/", headers=_headers(shop, "10")).json()
    assert (v10["phone_number"], v10["country_code"]) == ("030 12341234", "49")
    assert "phone_numbers" not in v10


def test_a_v10_update_of_phone_number_changes_the_first_number_only(client, shop):
    created = _create(client, shop, {"phone_numbers": SEVERAL})
    url = f"/api/customers/{created['id']}/"

    changed = client.put(url, json={"phone_number": "040 987654"}, headers=_headers(shop, "12"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["phone_number"] == "040 987654"
    numbers = _numbers(client.get(url, headers=_headers(shop, "9")).json())
    assert numbers[0] == ("040 987654", "49", "normal") and numbers[1:] == [("0171 2345678", "49", "mobile"), ("020 7946 0958", "44", "office")]

    removed = client.put(url, json={"phone_number": ""}, headers=_headers(shop, "12"))
    assert removed.json()["phone_number"] == "0171 2345678"  # the next one is the first now
    assert len(client.get(url, headers=_headers(shop, "9")).json()["phone_numbers"]) == 2


@pytest.mark.parametrize("version", ["9", "12"])
def test_either_phone_field_is_stored_in_any_version(client, shop, version):
    """The reference's field table has phone_number for every version; v9's phone_numbers are the same numbers."""
    by_string = _create(client, shop, {"phone_number": "030 1234567"}, version)
    by_list = _create(client, shop, {"phone_numbers": SEVERAL[:2]}, version)

    for created, first, count in ((by_string, "030 1234567", 1), (by_list, "030 12341234", 2)):
        v9 = client.get(f"/api/customers/{created['id']}/", headers=_headers(shop, "9")).json()
        assert len(v9["phone_numbers"]) == count and v9["phone_numbers"][0]["national_number"] == first


def test_both_phone_fields_at_once_are_refused(client, shop):
    response = client.post("/api/customers/", json={"company": "C", "phone_number": "030 1", "phone_numbers": []}, headers=_headers(shop, "12"))
    assert set(field_errors(response)) == {"phone_numbers"}


def test_the_reference_spelling_county_code_is_the_country_code(client, shop):
    created = _create(client, shop, {"phone_numbers": [{"national_number": "020 7946 0958", "county_code": "44", "type": "normal"}]})

    assert _numbers(created) == [("020 7946 0958", "44", "normal")]


@pytest.mark.parametrize(
    "entry, path",
    [
        ({"national_number": "12"}, "phone_numbers.1.national_number"),
        ({"national_number": "0301234567890123456"}, "phone_numbers.1.national_number"),
        ({"national_number": "030 1234567", "country_code": "999"}, "phone_numbers.1.country_code"),
        ({"national_number": "+44 20 7946 0958", "country_code": "49"}, "phone_numbers.1.national_number"),
        ({"national_number": "", "country_code": "49"}, "phone_numbers.1.national_number"),
    ],
)
def test_a_number_the_library_cannot_read_as_possible_is_a_field_error_and_nothing_is_stored(client, shop, entry, path):
    response = client.post("/api/customers/", json={"company": "Refused", "phone_numbers": [SEVERAL[0], entry]}, headers=_headers(shop, "9"))

    errors = field_errors(response)
    assert set(errors) == {path} and errors[path][0]
    assert client.get("/api/customers/?search=Refused", headers=shop.headers).json()["total"] == 0


def test_numbers_are_read_for_the_billing_country_and_kept_as_typed_unless_written_internationally(client, shop):
    created = _create(
        client, shop,
        {"billing_address": {"country": "AT"}, "phone_numbers": [{"national_number": "01 5880 1234"}, {"national_number": "0049 (30) 1234-567"}]},
    )

    assert _numbers(created) == [("01 5880 1234", "43", "normal"), ("030 1234567", "49", "normal")]


def test_the_reference_samples_are_accepted(client, shop):
    """Its numbers are local ones the library does not call valid (7873676): possible is the rule."""
    for number in ("978437427278", "7873676", "8277236", "82376672367", "672672366732"):
        created = _create(client, shop, {"phone_number": number}, "10")
        assert created["phone_number"] == number


def test_search_finds_a_customer_by_any_of_its_numbers(client, shop):
    created = _create(client, shop, {"phone_numbers": SEVERAL})

    for term in ("0171 2345678", "01712345678", "7946"):
        found = client.get("/api/customers/", params={"search": term}, headers=shop.headers).json()
        assert [c["id"] for c in found["data"]] == [created["id"]], term


def test_post_on_a_customer_is_an_update_as_put_is(client, shop):
    """The reference writes its update example with -X POST."""
    created = _create(client, shop, {"first_name": "Ana", "last_name": "Schmidt"}, "10")
    url = f"/api/customers/{created['id']}/"

    response = client.post(url, json={"note": "Some additional data", "phone_number": "7873676"}, headers=_headers(shop, "10"))

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{created["id"]}-2"'
    shown = client.get(url, headers=shop.headers).json()
    assert (shown["note"], shown["phone_number"], shown["first_name"]) == ("Some additional data", "7873676", "Ana")
    stale = client.post(url, json={"note": "x"}, headers={**shop.headers, "If-Match": f'"{created["id"]}-1"'})
    assert stale.status_code == 412
    assert client.post("/api/customers/999999/", json={"note": "x"}, headers=shop.headers).status_code == 404


def test_the_schema_documents_post_as_an_update_alias(client):
    schema = client.get("/schema/openapi.json").json()
    post = schema["paths"]["/api/customers/{customer_id}"]["post"]
    put = schema["paths"]["/api/customers/{customer_id}"]["put"]

    assert "alias" in post["summary"].lower()
    assert post["requestBody"] == put["requestBody"] and set(post["responses"]) == set(put["responses"])


@pytest.mark.parametrize("kind", ["another shop's", "another customer's", "unknown", "true", "a string", "the billing address's", "twice"])
def test_a_shipping_entry_naming_an_address_the_customer_does_not_have_is_a_field_error_and_changes_nothing(client, shop, kind):
    body = {"company": "C", "shipping_address": [{"city": "Bremen"}, {"city": "Hamburg"}]}
    customer = _create(client, shop, body, "12")
    neighbour = _create(client, shop, body, "12")
    foreign = _create(client, make_shop(), body, "12") if kind == "another shop's" else None
    own = customer["shipping_address"][0]["id"]
    given = {
        "another shop's": foreign and foreign["shipping_address"][0]["id"],
        "another customer's": neighbour["shipping_address"][0]["id"],
        "unknown": 2_000_000_000,
        "true": True,
        "a string": "1",
        "the billing address's": customer["billing_address"]["id"],
        "twice": own,
    }[kind]
    url = f"/api/customers/{customer['id']}/"
    before = client.get(url, headers=shop.headers).json()
    entries = [{"id": own, "city": "Kiel"}, {"id": given, "city": "Berlin"}]

    response = client.put(url, json={"shipping_address": entries}, headers=shop.headers)

    errors = field_errors(response)
    assert set(errors) == {"shipping_address.1.id"}, errors
    assert client.get(url, headers=shop.headers).json() == before


def _ids(customer) -> list[int]:
    return [p["id"] for p in customer["phone_numbers"]]


def test_an_entry_naming_one_of_the_customers_numbers_by_id_updates_that_one(client, shop):
    """Numbers are matched by id where an entry gives one of the customer's, else by position: removing the
    first number, or reordering, keeps every number's id with its number."""
    created = _create(client, shop, {"phone_numbers": SEVERAL})
    url = f"/api/customers/{created['id']}/"
    first, second, third = created["phone_numbers"]

    # The first removed: the others keep their ids (by position, the second would have taken the first's).
    shorter = client.put(url, json={"phone_numbers": [second, {**third, "type": "fax"}]}, headers=_headers(shop, "9")).json()
    assert _ids(shorter) == [second["id"], third["id"]]
    assert _numbers(shorter) == [("0171 2345678", "49", "mobile"), ("020 7946 0958", "44", "fax")]

    # Reordered by id; an entry without an id takes the stored number at its position unless an entry names that one.
    swapped = client.put(url, json={"phone_numbers": [third, second, {"national_number": "089 123456"}]}, headers=_headers(shop, "9")).json()
    assert _ids(swapped)[:2] == [third["id"], second["id"]] and _ids(swapped)[2] not in (first["id"], second["id"], third["id"])
    by_position = client.put(url, json={"phone_numbers": [{"national_number": "040 555666"}]}, headers=_headers(shop, "9")).json()
    assert _ids(by_position) == [third["id"]] and _numbers(by_position) == [("040 555666", "49", "normal")]

    # An id that is none of this customer's numbers is taken as no id (by position): nothing of the other customer changes.
    other = _create(client, shop, {"phone_numbers": SEVERAL[:1]})
    foreign = client.put(url, json={"phone_numbers": [{"id": other["phone_numbers"][0]["id"], "national_number": "040 777888"}]}, headers=_headers(shop, "9"))
    assert foreign.status_code == 200, foreign.text
    assert _ids(foreign.json()) == [third["id"]] and _numbers(foreign.json()) == [("040 777888", "49", "normal")]
    assert client.get(f"/api/customers/{other['id']}/", headers=_headers(shop, "9")).json()["phone_numbers"] == other["phone_numbers"]

    refused = client.put(url, json={"phone_numbers": [{"id": "x", "national_number": "040 777888"}]}, headers=_headers(shop, "9"))
    assert set(field_errors(refused)) == {"phone_numbers.0.id"}


def test_removing_the_first_number_by_phone_number_keeps_the_next_ones_id(client, shop):
    created = _create(client, shop, {"phone_numbers": SEVERAL})
    url = f"/api/customers/{created['id']}/"
    assert client.put(url, json={"phone_number": ""}, headers=_headers(shop, "12")).status_code == 200
    assert _ids(client.get(url, headers=_headers(shop, "9")).json()) == _ids(created)[1:]


def test_a_restore_from_the_trash_gives_the_numbers_back_their_ids_where_free(client, shop):
    from sqlalchemy import insert

    from app.customers import service
    from app.customers.models import Phone
    from app.database.engine import session_scope

    created = _create(client, shop, {"phone_numbers": SEVERAL})
    other = _create(client, shop, {})
    ids = _ids(created)
    assert client.delete(f"/api/customers/{created['id']}/", headers=_headers(shop, "9")).status_code == 200
    with session_scope() as session:  # meanwhile the second one's id is taken (as SQLite may reuse a freed id)
        session.execute(insert(Phone).values(id=ids[1], account_id=shop.id, customer_id=other["id"], position=0, national_number="030 111222", country_code="49", type="normal"))
    with session_scope() as session:
        assert service.restore(session, shop.id, created["id"]) is not None

    restored = client.get(f"/api/customers/{created['id']}/", headers=_headers(shop, "9")).json()
    assert _numbers(restored) == _numbers(created)
    assert _ids(restored)[0] == ids[0] and _ids(restored)[2] == ids[2], (ids, _ids(restored))
    assert _ids(restored)[1] not in ids


def test_an_entry_naming_a_number_by_id_changes_only_the_fields_it_sends(client, shop):
    """An entry with a stored number's id and no national_number deleted that number (it was read as an
    empty entry); it changes only what it sends, as a shipping entry with an id does."""
    created = _create(client, shop, {"phone_numbers": SEVERAL[:2]})
    first, second = created["phone_numbers"]
    url = f"/api/customers/{created['id']}/"
    changed = client.put(url, json={"phone_numbers": [{"id": first["id"], "type": "fax"}, {"id": second["id"]}]}, headers=_headers(shop, "9"))
    assert changed.status_code == 200, changed.text
    numbers = changed.json()["phone_numbers"]
    assert [p["id"] for p in numbers] == [first["id"], second["id"]]
    assert [(p["national_number"], p["country_code"], p["type"]) for p in numbers] == [
        (first["national_number"], first["country_code"], "fax"),
        (second["national_number"], second["country_code"], second["type"]),
    ]


def test_two_entries_naming_the_same_number_are_refused(client, shop):
    created = _create(client, shop, {"phone_numbers": SEVERAL[:1]})
    number_id = created["phone_numbers"][0]["id"]
    url = f"/api/customers/{created['id']}/"
    body = {"phone_numbers": [{"id": number_id, "national_number": "030 5555555"}, {"id": number_id, "national_number": "030 6666666"}]}
    refused = client.put(url, json=body, headers=_headers(shop, "9"))
    assert refused.status_code == 400 and "phone_numbers.1.id" in refused.json()["error"]["fields"], refused.text
    assert client.get(url, headers=_headers(shop, "9")).json()["phone_numbers"] == created["phone_numbers"]


def test_phone_ids_are_never_reused(client, shop):
    """SQLite gave the next number the id of the highest deleted one: an integration keeping phone ids
    could later read another customer's number under one (AUTOINCREMENT, as customers and addresses)."""
    created = _create(client, shop, {"phone_numbers": SEVERAL[:2]})
    highest = max(p["id"] for p in created["phone_numbers"])
    assert client.delete(f"/api/customers/{created['id']}/", headers=_headers(shop, "9")).status_code == 200
    again = _create(client, shop, {"phone_numbers": SEVERAL[:2]})
    assert min(p["id"] for p in again["phone_numbers"]) > highest
