"""One set of rules for both faces: the HTML form and the JSON API report the same field errors.

Each case is one bad input written twice: as the back office's HTML form posts
it (``billing_address-zipcode``, ``shipping_address-0-city``) and as an API
client sends it as JSON. The form's ``errors_by_path()`` and the API's error
envelope must name the same fields with the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from litestar.datastructures import MultiDict

from app.customers.forms import CustomerForm

NAMES = {"first_name": "Ana", "last_name": "Schmidt"}
NAMES_FORM = list(NAMES.items())


@dataclass(frozen=True)
class Case:
    id: str
    form: list[tuple[str, str]]
    json: dict
    fields: set[str]


CASES = [
    Case(
        "first_name-too-long",
        [("first_name", "x" * 101), ("last_name", "Schmidt")],
        {"first_name": "x" * 101, "last_name": "Schmidt"},
        {"first_name"},
    ),
    Case("bad-email", [*NAMES_FORM, ("email", "ana@")], {**NAMES, "email": "ana@"}, {"email"}),
    Case("bad-title", [*NAMES_FORM, ("title", "Dr.")], {**NAMES, "title": "Dr."}, {"title"}),
    Case("no-names-no-company", [("email", "ana@example.com")], {"email": "ana@example.com"}, {"first_name", "last_name", "company"}),
    Case(
        "bad-country",
        [*NAMES_FORM, ("billing_address-country", "Atlantis")],
        {**NAMES, "billing_address": {"country": "Atlantis"}},
        {"billing_address.country"},
    ),
    Case("bad-birthday", [*NAMES_FORM, ("birthday", "1985-02-30")], {**NAMES, "birthday": "1985-02-30"}, {"birthday"}),
    Case("future-birthday", [*NAMES_FORM, ("birthday", "2999-01-01")], {**NAMES, "birthday": "2999-01-01"}, {"birthday"}),
    Case(
        "billing-zipcode-too-long",
        [*NAMES_FORM, ("billing_address-zipcode", "1" * 21)],
        {**NAMES, "billing_address": {"zipcode": "1" * 21}},
        {"billing_address.zipcode"},
    ),
    Case(
        "shipping-zipcode-too-long",
        [*NAMES_FORM, ("shipping_address-0-city", "Bremen"), ("shipping_address-1-zipcode", "1" * 21)],
        {**NAMES, "shipping_address": [{"city": "Bremen"}, {"zipcode": "1" * 21}]},
        {"shipping_address.1.zipcode"},
    ),
    Case(
        "shipping-city-too-long",
        [*NAMES_FORM, ("shipping_address-0-city", "y" * 101)],
        {**NAMES, "shipping_address": [{"city": "y" * 101}]},
        {"shipping_address.0.city"},
    ),
    Case(
        "line-break-in-a-one-line-field",
        [*NAMES_FORM, ("company", "Müller\nGmbH"), ("billing_address-address1", "Weg 1\rHof")],
        {**NAMES, "company": "Müller\nGmbH", "billing_address": {"address1": "Weg 1\rHof"}},
        {"company", "billing_address.address1"},
    ),
    Case("channel-0", [*NAMES_FORM, ("channel", "0")], {**NAMES, "channel": 0}, {"channel"}),
    Case(
        "phone-with-letters",
        [*NAMES_FORM, ("phone_numbers-0-national_number", "030 CALL ME")],
        {**NAMES, "phone_numbers": [{"national_number": "030 CALL ME"}]},
        {"phone_numbers.0.national_number"},
    ),
    Case(
        "many-at-once",
        [
            ("title", "Herr"),
            ("email", "nope"),
            ("phone_numbers-0-national_number", "abc"),
            ("billing_address-zipcode", "1" * 21),
            ("billing_address-title", "Dr."),
            ("shipping_address-0-country", "XX"),
        ],
        {
            "title": "Herr",
            "email": "nope",
            "phone_numbers": [{"national_number": "abc"}],
            "billing_address": {"zipcode": "1" * 21, "title": "Dr."},
            "shipping_address": [{"country": "XX"}],
        },
        {
            "title",
            "email",
            "phone_numbers.0.national_number",
            "first_name",
            "last_name",
            "company",
            "billing_address.zipcode",
            "billing_address.title",
            "shipping_address.0.country",
        },
    ),
]


def _form_errors(items: list[tuple[str, str]], timezone: str) -> dict[str, list[str]]:
    form = CustomerForm.bind(MultiDict(items), timezone=timezone)
    assert form.validate() is False
    return form.errors_by_path()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_html_form_and_json_api_report_the_same_field_errors(client, shop, case):
    form_errors = _form_errors(case.form, "Europe/Berlin")

    response = client.post("/api/customers/", json=case.json, headers=shop.headers)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["key"] == "common.serializer_error"
    assert set(form_errors) == case.fields
    assert error["fields"] == form_errors


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_same_input_made_valid_passes_both_faces(client, shop, case):
    """The fix for each case is accepted by both, so the cases test one rule each, not a typo."""
    good_form = [(k, v) for k, v in case.form if not _is_bad(k, case)] + [("company", "Firma")]
    good_json = {k: v for k, v in case.json.items() if k not in _bad_top_level(case)} | {"company": "Firma"}

    form = CustomerForm.bind(MultiDict(good_form), timezone="Europe/Berlin")
    assert form.validate(), form.errors_by_path()
    response = client.post("/api/customers/", json=good_json, headers=shop.headers)
    assert response.status_code == 201, response.text


def _bad_top_level(case: Case) -> set[str]:
    return {path.split(".", 1)[0] for path in case.fields}


def _is_bad(key: str, case: Case) -> bool:
    return key.split("-", 1)[0] in _bad_top_level(case)


def test_form_reports_paths_with_dots_not_the_html_names():
    errors = _form_errors([("billing_address-zipcode", "1" * 21), ("shipping_address-0-city", "y" * 101), ("company", "C")], "UTC")

    assert set(errors) == {"billing_address.zipcode", "shipping_address.0.city"}


def test_html_checkbox_values_and_json_booleans_mean_the_same(client, shop):
    form = CustomerForm.bind(MultiDict([("company", "C"), ("is_vip", "y"), ("is_b2b", "")]), timezone="Europe/Berlin")
    assert form.validate()

    created = client.post("/api/customers/", json={"company": "C", "is_vip": True, "is_b2b": False}, headers=shop.headers).json()

    assert (form.is_vip.data, form.is_b2b.data) == (created["is_vip"], created["is_b2b"]) == (True, False)


def test_form_and_api_store_the_same_country_code(client, shop):
    form = CustomerForm.bind(MultiDict([("company", "C"), ("billing_address-country", "Deutschland")]), timezone="Europe/Berlin")
    assert form.validate()

    created = client.post("/api/customers/", json={"company": "C", "billing_address": {"country": "Deutschland"}}, headers=shop.headers).json()

    assert form.cleaned()["billing_address"]["country"] == created["billing_address"]["country"] == "DE"


def test_both_faces_store_a_notes_line_breaks_as_lf(client, shop):
    """A browser posts a textarea's line breaks as CRLF and reads a CR on the page as LF: only LF survives a round trip."""
    form = CustomerForm.bind(MultiDict([*NAMES_FORM, ("note", "one\r\ntwo\rthree\nfour")]), timezone="Europe/Berlin")
    assert form.validate()

    created = client.post("/api/customers/", json={**NAMES, "note": "one\r\ntwo\rthree\nfour"}, headers=shop.headers).json()

    assert form.cleaned()["note"] == created["note"] == "one\ntwo\nthree\nfour"


def test_a_birthday_posted_back_as_the_date_shown_keeps_its_time(client, shop):
    """The page shows a birthday as its date in the account's time zone; that date sent back changes nothing,
    on either face; another date is midnight of that date there."""
    from app.customers import service
    from app.database.engine import session_scope

    created = client.post("/api/customers/", json={**NAMES, "birthday": "1985-04-30T10:49:52Z"}, headers=shop.headers).json()
    with session_scope() as session:
        customer = service.get(session, shop.id, created["id"])
        form = CustomerForm.bind(MultiDict([("birthday", "1985-04-30")]), timezone="Europe/Berlin", customer=customer)
        assert form.validate()
        assert form.cleaned()["birthday"] == customer.birthday
        moved = CustomerForm.bind(MultiDict([("birthday", "1985-05-01")]), timezone="Europe/Berlin", customer=customer)
        assert moved.validate()
        assert moved.cleaned()["birthday"].isoformat() == "1985-04-30T22:00:00+00:00"

    url = f"/api/customers/{created['id']}/"
    same = client.put(url, json={"birthday": "1985-04-30"}, headers=shop.headers).json()
    assert same["birthday"] == created["birthday"] == "1985-04-30T12:49:52+02:00"
    other = client.put(url, json={"birthday": "1985-05-01"}, headers=shop.headers).json()
    assert other["birthday"] == "1985-05-01T00:00:00+02:00"
