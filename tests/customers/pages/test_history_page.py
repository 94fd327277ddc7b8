"""The history page tells what happened in the edit page's words: field labels, values shown as
the fields show them (times in the account's time zone, countries by name, yes/no), what a
create set, and no row for a change that changed nothing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.fixtures.pages import SignedIn, sign_in
from tests.htmlforms import form_to

TIMEZONE = "America/New_York"
BODY = {
    "first_name": "Ana",
    "last_name": "Schmidt",
    "birthday": "1985-04-30T10:49:52Z",
    "billing_address": {"address1": "Voltastrasse 5", "city": "Berlin", "country": "DE"},
    "shipping_address": [{"city": "Bremen", "zipcode": "28195"}, {"city": "Hamburg", "zipcode": "44-444", "country": "AT"}],
}


class _Events(HTMLParser):
    """Per event of the page: its heading and its table's rows, each as the texts of its cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._head = False
        self._thead = False

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag == "thead":
            self._thead = True
        elif tag == "li" and "event" in classes.split():
            self.events.append({"head": "", "rows": [], "columns": []})
        elif tag == "p" and "event-head" in classes.split():
            self._head = True
        elif tag == "tr" and self.events:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._head:
            self.events[-1]["head"] += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._thead:
                self.events[-1]["columns"] = self._row
            else:
                self.events[-1]["rows"].append(tuple(self._row))
            self._row = None
        elif tag == "thead":
            self._thead = False
        elif tag == "p" and self._head:
            self._head = False
            self.events[-1]["head"] = " ".join(self.events[-1]["head"].split())


def history(client, customer_id: int) -> list[dict]:
    page = client.get(f"/customers/{customer_id}/history")
    assert page.status_code == 200, page.text
    parser = _Events()
    parser.feed(page.text)
    return parser.events


@pytest.fixture
def signed(client) -> SignedIn:
    return sign_in(client, TIMEZONE)


def _create(client, signed: SignedIn) -> int:
    response = client.post("/api/customers/", json=BODY, headers=signed.bearer)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_create_shows_what_was_set_with_labels_and_shown_values(client, signed):
    customer_id = _create(client, signed)

    (created,) = history(client, customer_id)

    assert created["head"].startswith("Created by ")
    assert created["columns"] == ["Field", "Set to"]
    assert created["rows"] == [
        ("First name", "Ana"),
        ("Last name", "Schmidt"),
        ("Birthday", "30.04.1985 06:49:52"),  # 10:49:52 UTC in New York, summer time
        ("Billing address: Street and number", "Voltastrasse 5"),
        ("Billing address: City", "Berlin"),
        ("Billing address: Country", "Germany"),
        ("Shipping addresses", "2"),
        ("Shipping address 1: Postcode", "28195"),
        ("Shipping address 1: City", "Bremen"),
        ("Shipping address 2: Postcode", "44-444"),
        ("Shipping address 2: City", "Hamburg"),
        ("Shipping address 2: Country", "Austria"),
    ]


def test_a_change_shows_labels_and_values_in_the_accounts_time_zone_and_no_empty_rows(client, signed):
    customer_id = _create(client, signed)
    page = client.get(f"/customers/{customer_id}/edit")
    form = form_to(page.text, f"/customers/{customer_id}/edit")
    form.set("shipping_address-1-zipcode", "55-555")
    form.set("birthday", "1985-05-01")
    form.set("is_vip", "y")
    form.set("note", "Calls\r\non Mondays")
    form.fields += [("shipping_address-2-id", ""), ("shipping_address-2-city", "Köln")]
    saved = client.post(f"/customers/{customer_id}/edit", content=form.urlencoded(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert saved.status_code in (200, 303), saved.text

    changed, created = history(client, customer_id)

    assert changed["head"].startswith("Changed by ")
    assert changed["columns"] == ["Field", "From", "To"]
    assert changed["rows"] == [
        ("Birthday", "30.04.1985 06:49:52", "01.05.1985"),
        ("Note", "—", "Calls\non Mondays"),
        ("VIP", "no", "yes"),
        ("Shipping addresses", "2", "3"),
        ("Shipping address 2: Postcode", "44-444", "55-555"),
        ("Shipping address 3: City", "—", "Köln"),
    ]
    assert created["head"].startswith("Created by ")


def test_recorded_changes_that_show_nothing_get_no_row(client, signed):
    """Events kept from before: an empty value to an empty one, raw values, a path the form does not have."""
    from app.customers import history as customer_history
    from app.customers import service as customers
    from app.database.engine import session_scope
    from app.shared.audit import Who

    customer_id = _create(client, signed)
    with session_scope() as session:
        changes = {
            "shipping_address.1.zipcode": [None, ""],
            "shipping_address.1.country": ["", "DE"],
            "is_b2b": [False, True],
            "birthday": ["1985-04-30T10:49:52+00:00", None],
            "middle_name": ["A", "B"],
        }
        _, seq = customers._account_change(session, signed.account_id)  # the event's number, as every change takes one
        customer_history.record(session, seq, customer_id, signed.account_id, "update", Who("user", None, "someone@example.com"), changes)

    changed = history(client, customer_id)[0]

    assert changed["rows"] == [
        ("Birthday", "30.04.1985 06:49:52", "—"),
        ("B2B", "no", "yes"),
        ("Shipping address 2: Country", "—", "Germany"),
        ("middle_name", "A", "B"),
    ]


def test_a_form_saved_unchanged_leaves_no_event(client, signed):
    customer_id = _create(client, signed)
    page = client.get(f"/customers/{customer_id}/edit")
    form = form_to(page.text, f"/customers/{customer_id}/edit")

    saved = client.post(f"/customers/{customer_id}/edit", content=form.urlencoded(), headers={"Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False)

    assert saved.status_code == 303
    assert [e["head"].split(" by ")[0] for e in history(client, customer_id)] == ["Created"]
