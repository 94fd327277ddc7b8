"""A form saved unchanged changes nothing.

Any customer the API accepts, opened in the full edit page and in the row's
inline edit and saved with exactly what the rendered form holds (read as a
browser reads it: tests/htmlforms.py), reads back byte-identical from the API,
in both API versions, with the same ETag, the same ``updated_at`` and no new
history event. Customers are made in accounts of several time zones, so that
birthdays meet offsets east and west of UTC and half-hour ones.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tests.fixtures.pages import SignedIn, sign_in
from tests.htmlforms import Form, form_to

TIMEZONES = ("Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati")
HTMX = {"HX-Request": "true"}
FORM_BODY = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def signed_in(app):
    """A client and, per time zone, an account signed in on it (switched by its cookies)."""
    from litestar.testing import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, [sign_in(client, name) for name in TIMEZONES]


# -- what the API accepts --------------------------------------------------------

# Any character but surrogates and the control characters the form refuses (C1 controls included);
# line breaks, tabs and Unicode's own spaces and separators weighted in, since browsers and parsers treat them apart.
REFUSED = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters=REFUSED) | st.sampled_from(
    "\t\n\r \u00a0\u2028\u2029\u0085\u200b\u3000"
)
LETTERS = st.characters(categories=("L", "M"))


def text(maximum: int) -> st.SearchStrategy[str]:
    return st.text(CHARACTERS, max_size=maximum) | st.text(LETTERS, max_size=maximum)


def name(maximum: int) -> st.SearchStrategy[str]:
    """Names of any Unicode letters, with spaces and the punctuation of real names among them."""
    return st.text(LETTERS | st.sampled_from(" -'.·"), max_size=maximum) | text(maximum)


EMAILS = st.one_of(
    st.just(""),
    st.emails(),
    st.builds(lambda user, host: f"{user}@{host}.de", st.text(LETTERS, min_size=1, max_size=20), st.text(LETTERS, min_size=1, max_size=20)),
)
PHONES = st.from_regex(r"[0-9+()\-/. ]{0,40}", fullmatch=True)


def _countries() -> st.SearchStrategy[str]:
    from app.customers.countries import choices

    codes = [code for code, _ in choices()]
    return st.sampled_from(["", *codes]) | st.sampled_from(["Deutschland", "germany", "Österreich", "France", " de "])


TITLES = st.sampled_from(["", "Mr.", "Mrs.", "Ms."])
EARLIEST = datetime(1000, 1, 2)
LATEST = datetime.now() - timedelta(days=2)


@st.composite
def birthdays(draw) -> str | None:
    """None, a date, or a date and time written in any of the ISO 8601 forms the API reads."""
    kind = draw(st.sampled_from(["none", "date", "aware", "naive", "utc"]))
    if kind == "none":
        return None
    if kind == "date":
        return draw(st.dates(EARLIEST.date(), LATEST.date())).isoformat()
    moment = draw(st.datetimes(EARLIEST, LATEST))
    spec = draw(st.sampled_from(["seconds", "minutes", "milliseconds", "microseconds", "auto"]))
    if kind == "naive":
        return moment.isoformat(timespec=spec)
    if kind == "utc":
        written = moment.replace(tzinfo=timezone.utc).isoformat(timespec=spec)
        return written.replace("+00:00", draw(st.sampled_from(["Z", "+00:00", "z"])))
    offset = draw(st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))))
    return moment.replace(tzinfo=offset).isoformat(timespec=spec)


def address() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "title": TITLES,
            "first_name": name(100),
            "last_name": name(100),
            "company": text(200),
            "address1": text(200),
            "address2": text(200),
            "zipcode": text(20),
            "city": name(100),
            "state": text(100),
            "country": _countries(),
        },
    )


def customers() -> st.SearchStrategy[dict[str, Any]]:
    """A customer as an API client sends it, v10 (``phone_number``) or v9 (``phone_numbers``)."""
    common = {
        "title": TITLES,
        "company": text(200),
        "email": EMAILS,
        "country_code": st.from_regex(r"\+?[0-9]{0,7}", fullmatch=True),
        "birthday": birthdays(),
        "note": text(400),
        "tax_number": text(40),
        "channel": st.integers(1, 2**31 - 1),
        "email_marketing_agreed": st.booleans(),
        "is_b2b": st.booleans(),
        "is_favourite": st.booleans(),
        "is_vip": st.booleans(),
        "is_confirmed": st.booleans(),
        "billing_address": st.none() | address(),
        "shipping_address": st.lists(address(), max_size=3),
        # The flat form of the billing address, over the nested one where both are sent.
        "address1": text(200),
        "zipcode": text(20),
        "city": name(100),
        "country": _countries(),
    }
    names = {"first_name": name(100), "last_name": name(100)}
    v10 = st.fixed_dictionaries(names, optional={**common, "phone_number": PHONES})
    phone = st.fixed_dictionaries({"national_number": PHONES}, optional={"type": text(20), "country_code": st.from_regex(r"[0-9]{0,7}", fullmatch=True)})
    v9 = st.fixed_dictionaries({**names, "phone_numbers": st.lists(phone, max_size=1)}, optional=common)
    return st.tuples(st.just("10"), v10) | st.tuples(st.just("9"), v9)


# -- the round trip ----------------------------------------------------------------


def _state(client, account: SignedIn, customer_id: int) -> tuple[bytes, bytes, str, datetime, int]:
    """What the API shows (v10 and v9 bodies, ETag), the stored updated_at, and the number of history events."""
    from app.customers import history, service
    from app.database.engine import session_scope

    v10 = client.get(f"/api/customers/{customer_id}/", headers={**account.bearer, "X-Api-Version": "10"})
    v9 = client.get(f"/api/customers/{customer_id}/", headers={**account.bearer, "X-Api-Version": "9"})
    assert v10.status_code == v9.status_code == 200, v10.text
    with session_scope() as session:
        stored = service.get(session, account.account_id, customer_id)
        events = len(history.events(session, account.account_id, customer_id))
        return v10.content, v9.content, v10.headers["etag"], stored.updated_at, events


def _post(client, url: str, form: Form, headers: dict[str, str] | None = None):
    return client.post(url, content=form.urlencoded(), headers={**FORM_BODY, **(headers or {})}, follow_redirects=False)


def save_unchanged(client, account: SignedIn, customer_id: int) -> None:
    """Open the full edit page and the row's inline edit and save each as it was rendered."""
    account.use(client)
    page = client.get(f"/customers/{customer_id}/edit")
    assert page.status_code == 200
    saved = _post(client, f"/customers/{customer_id}/edit", form_to(page.text, f"/customers/{customer_id}/edit"))
    assert saved.status_code == 303, saved.text

    row = client.get(f"/customers/{customer_id}/row/edit", headers=HTMX)
    assert row.status_code == 200
    saved = _post(client, f"/customers/{customer_id}/row", form_to(row.text, f"/customers/{customer_id}/row"), HTMX)
    assert saved.status_code == 200 and 'class="saved"' in saved.text, saved.text


def _create(client, account: SignedIn, version: str, body: dict[str, Any]) -> int | None:
    response = client.post("/api/customers/", json=body, headers={**account.bearer, "X-Api-Version": version})
    assert response.status_code in (201, 400), response.text
    return response.json()["id"] if response.status_code == 201 else None


REFERENCE = {
    "first_name": "Ana",
    "last_name": "Schmidt",
    "birthday": "1985-04-30T10:49:52Z",
    "note": "Line one\r\nline two\rline three\n",
    "phone_number": "030 1234567",
    "billing_address": {"address1": "Voltastrasse 5", "zipcode": "13355", "city": "Berlin", "country": "DE"},
    "shipping_address": [{"city": "Bremen", "country": "Deutschland"}, {}],
}


@settings(
    max_examples=int(os.environ.get("ROUNDTRIP_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@example(zone=0, customer=("10", REFERENCE))
@example(zone=2, customer=("10", {**REFERENCE, "birthday": "1985-04-30"}))
@example(zone=3, customer=("9", {"first_name": " Ève ", "last_name": "N\u00e9e\tO'Brien", "phone_numbers": [{"national_number": "+49 (30) 1", "type": "mobile"}]}))
@given(zone=st.integers(0, len(TIMEZONES) - 1), customer=customers())
def test_any_customer_saved_unchanged_from_either_form_reads_back_the_same(signed_in, zone: int, customer: tuple[str, dict[str, Any]]) -> None:
    client, accounts = signed_in
    account = accounts[zone]
    version, body = customer
    customer_id = _create(client, account, version, body)
    assume(customer_id is not None)
    before = _state(client, account, customer_id)
    assert before[4] == 1  # its create

    save_unchanged(client, account, customer_id)

    after = _state(client, account, customer_id)
    assert json.loads(after[0]) == json.loads(before[0])
    assert after[:2] == before[:2], "the v10 and v9 bodies, byte for byte"
    assert after[2:] == before[2:], "ETag, updated_at, history events"


def test_seeded_customers_saved_unchanged_read_back_the_same(signed_in) -> None:
    """Demo customers are written by the bulk seeder, not through the form: their first save changes nothing either."""
    from sqlalchemy import select

    from app.customers import seed
    from app.customers.models import Customer
    from app.database.engine import session_scope

    client, accounts = signed_in
    for account in accounts[:2]:
        with session_scope() as session:
            seed.seed(session, account.account_id, 40, rng_seed=13)
            ids = list(session.scalars(select(Customer.id).where(Customer.account_id == account.account_id, Customer.birthday.is_not(None)).limit(12)))
        assert len(ids) == 12
        for customer_id in ids:
            before = _state(client, account, customer_id)
            save_unchanged(client, account, customer_id)
            assert _state(client, account, customer_id) == before, customer_id


def test_the_form_parser_reads_what_chromium_would_submit() -> None:
    """The rules tests/htmlforms.py applies, on the cases that matter here."""
    from tests.htmlforms import forms

    html = (
        '<form method="post" action="/x">'
        '<input name="a" value="one&#10;two\r\nthree">'
        '<input type="email" name="e" value=" a@b.de ">'
        '<input type="date" name="d" value="1985-02-30">'
        '<input type="checkbox" name="c" value="y">'
        '<input type="checkbox" name="k" checked>'
        '<select name="s"><option value="">-</option><option selected>  X  Y </option></select>'
        "<textarea name=t>\r\nfirst\rsecond\n</textarea>"
        '<button type="submit" name="b" value="1">Go</button>'
        "</form>"
    )
    (form,) = forms(html)
    assert form.fields == [("a", "onetwothree"), ("e", "a@b.de"), ("d", ""), ("k", "on"), ("s", "X Y"), ("t", "first\nsecond\n")]
    assert form.submitted()[-1] == ("t", "first\r\nsecond\r\n")


def _api_put_unchanged(client, account: SignedIn, customer_id: int) -> dict:
    response = client.put(f"/api/customers/{customer_id}/", json={}, headers=account.bearer)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_save_that_changes_no_field_writes_nothing_even_where_derived_columns_are_stale(signed_in) -> None:
    """The search text and sort name a save recomputes are not written when no field changed: no UPDATE,
    so no new version (ETag) and no new updated_at, whatever wrote them before (a bulk load, an older release)."""
    from sqlalchemy import update

    from app.customers.models import Customer
    from app.database.engine import session_scope

    client, accounts = signed_in
    account = accounts[0]
    customer_id = _create(client, account, "10", {"first_name": "Olga", "last_name": "Krause", "email": "olga@example.com"})
    with session_scope() as session:
        session.execute(update(Customer).where(Customer.id == customer_id).values(sort_name="stale", search_text="stale"))
    before = _state(client, account, customer_id)

    save_unchanged(client, account, customer_id)
    _api_put_unchanged(client, account, customer_id)

    assert _state(client, account, customer_id) == before


def test_a_customer_without_a_billing_address_saved_unchanged_still_has_none(signed_in) -> None:
    """A save that changes nothing does not make the billing address a customer lacks (rows from before
    every customer got one): the answer shows none, none is stored, nothing is recorded."""
    from sqlalchemy import delete

    from app.customers.models import BILLING, Address
    from app.database.engine import session_scope

    client, accounts = signed_in
    account = accounts[1]
    customer_id = _create(client, account, "10", {"first_name": "Ben", "last_name": "Vogel"})
    with session_scope() as session:
        session.execute(delete(Address).where(Address.customer_id == customer_id, Address.kind == BILLING))
    before = _state(client, account, customer_id)
    assert json.loads(before[0])["billing_address"] is None

    assert _api_put_unchanged(client, account, customer_id)["billing_address"] is None
    save_unchanged(client, account, customer_id)

    assert _state(client, account, customer_id) == before
