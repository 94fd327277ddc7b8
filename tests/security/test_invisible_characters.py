"""Invisible characters in typed text are refused, except the joiners a script or an emoji needs."""

from __future__ import annotations

import pytest

from tests.fixtures.security import (
    assert_envelope,
    csrf_of,
    snapshot,
)

# -- invisible characters in typed text ---------------------------------------------------------

HIDDEN = {
    "rlo": "\u202e", "lre": "\u202a", "rli": "\u2067", "pdi": "\u2069", "rlm": "\u200f", "zero-width-space": "\u200b",
    "word-joiner": "\u2060", "bom": "\ufeff", "soft-hyphen": "\u00ad", "line-separator": "\u2028", "zwj-in-latin": "\u200d",
}
CUSTOMER_TEXT = ("first_name", "last_name", "company", "email", "phone_number", "tax_number", "note", "title", "country_code")
# The edit page's names of the API's top-level phone fields: the first entry of its phone-numbers list.
PAGE_NAMES = {"phone_number": "phone_numbers-0-national_number", "country_code": "phone_numbers-0-country_code"}
ADDRESS_TEXT = ("first_name", "last_name", "company", "address1", "address2", "zipcode", "city", "state")


def _spoof(value: str, hidden: str) -> str:
    """``value`` with ``hidden`` inside (not at an end, where trimming would drop a blank one)."""
    return value[:1] + hidden + value[1:]


@pytest.mark.parametrize("hidden", list(HIDDEN.values()), ids=list(HIDDEN))
def test_invisible_characters_are_refused_in_every_customer_text_field_on_both_faces(api, signed_in, account_a, hidden):
    """A right-to-left override or a zero-width character in a name was stored and shown as-is
    ("Ada" + U+202E + "ecnalevoL" shows as "AdaLovelace"). Both faces refuse it with the same error."""
    client, headers, customer_id = api
    admin = signed_in(account_a.admin_email)
    admin.headers["x-csrftoken"] = csrf_of(admin)
    valid = {"first_name": "Grace", "last_name": "Hopper", "company": "Navy", "email": "grace@example.com", "phone_number": "+1 555 0100",
             "tax_number": "US123", "note": "Admiral", "title": "Ms.", "country_code": "49"}
    before = snapshot(account_a.id)
    for name in CUSTOMER_TEXT:
        body = {**valid, name: _spoof(valid[name], hidden)}
        for method, url in (("POST", "/api/customers/"), ("PUT", f"/api/customers/{customer_id}/")):
            error = assert_envelope(client.request(method, url, json=body, headers=headers), 400, "common.serializer_error")
            assert any("invisible character" in m for m in error["fields"].get(name, [])), (name, method, error["fields"])
        page = admin.post("/customers/", data={PAGE_NAMES.get(k, k): v for k, v in body.items()}, follow_redirects=False)
        assert page.status_code == 422, (name, page.status_code)
        assert "invisible character" in page.text, name
    for name in ADDRESS_TEXT:
        address = {"first_name": "Grace", "last_name": "Hopper", "company": "Navy", "address1": "Main Street 1", "address2": "Floor 2",
                   "zipcode": "10115", "city": "Berlin", "state": "Berlin"}
        address[name] = _spoof(address[name], hidden)
        for key in ("billing_address", "shipping_address"):
            body = {**valid, key: address if key == "billing_address" else [address]}
            error = assert_envelope(client.post("/api/customers/", json=body, headers=headers), 400, "common.serializer_error")
            path = f"billing_address.{name}" if key == "billing_address" else f"shipping_address.0.{name}"
            assert any("invisible character" in m for m in error["fields"].get(path, [])), (path, error["fields"])
            prefix = "billing_address-" if key == "billing_address" else "shipping_address-0-"
            page_data = {**{PAGE_NAMES.get(k, k): v for k, v in valid.items()}, **{prefix + k: v for k, v in address.items()}}
            page = admin.post("/customers/", data=page_data, follow_redirects=False)
            assert page.status_code == 422 and "invisible character" in page.text, (path, page.status_code)
    row = admin.post(f"/customers/{customer_id}/row", data={"first_name": _spoof("Ada", hidden), "last_name": "Lovelace"})
    assert "invisible character" in row.text
    assert snapshot(account_a.id) == before


@pytest.mark.parametrize("hidden", list(HIDDEN.values()), ids=list(HIDDEN))
def test_invisible_characters_are_refused_in_users_and_integrations(signed_in, account_a, hidden):
    admin = signed_in(account_a.admin_email)
    token = csrf_of(admin)
    before = snapshot(account_a.id)
    for data in (
        {"email": _spoof("new-user@example.com", hidden), "name": "New", "role": "staff", "password": "a long enough password"},
        {"email": "new-user@example.com", "name": _spoof("New user", hidden), "role": "staff", "password": "a long enough password"},
    ):
        response = admin.post("/users", data={**data, "_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 422 and "invisible character" in response.text, (data, response.status_code)
    response = admin.post("/integrations", data={"name": _spoof("Shop sync", hidden), "scopes": "customers", "_csrf_token": token})
    assert response.status_code == 422 and "invisible character" in response.text
    assert snapshot(account_a.id) == before


def test_joiners_that_a_script_or_an_emoji_needs_are_kept(api):
    """Persian and the Indic scripts write some words with a zero-width (non-)joiner, and emoji
    sequences hold the joiner: those are no disguise and are stored as sent."""
    client, headers, _ = api
    body = {"first_name": "فرزانه\u200cپور", "last_name": "क्\u200dष", "company": "Team \U0001f469\u200d\U0001f4bb", "note": "\U0001f468\u200d\U0001f469\u200d\U0001f467"}
    response = client.post("/api/customers/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in body} == body
