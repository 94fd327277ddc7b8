"""Three-way merge on saving a form: a change meanwhile to other fields is kept, not undone; a true
conflict lists only its field and keeps the input."""

from __future__ import annotations

import re

import httpx

from tests.customers.concurrency.helpers import (
    counters_agree,
    stored,
)
from tests.customers.concurrency.pages import (
    CONFLICT,
    FIRST_PHONE,
    HTMX,
    _create,
    _is_conflict_row,
    _is_saved_row,
    _open_inline,
    _phone,
)
from tests.htmlforms import form_to


def _colleague(staff):
    """Another admin of the same account, with a back-office session of their own."""
    import uuid

    from app.accounts import service as accounts
    from app.database.engine import session_scope
    from tests.fixtures.concurrency import PASSWORD, Staff

    email = f"rosa-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        accounts.create_user(session, staff.account_id, email, PASSWORD, role="admin")
    return Staff(staff.account_id, staff.shop, email)


def _events(account_id: int, customer_id: int) -> list[tuple[str, dict]]:
    """(who, changes) of every update event of a customer, oldest first."""
    from sqlalchemy import select

    from app.customers.history import CustomerEvent
    from app.database.engine import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(CustomerEvent)
            .where(CustomerEvent.account_id == account_id, CustomerEvent.customer_id == customer_id, CustomerEvent.action == "update")
            .order_by(CustomerEvent.id)
        )
        return [(row.actor_label, dict(row.changes)) for row in rows]


def _message(html: str) -> str:
    found = re.search(r'<div class="message message-success">(.*?)</div>', html, re.S)
    return found.group(1) if found else ""


def test_inline_save_keeps_a_colleagues_company_changed_meanwhile(page_session, staff):
    """The employee's report: Rosa sets a new company, the admin (form opened before) changes only the phone."""
    customer_id = _create(staff, company="Old company", phone_number="030 1")
    rosa_staff = _colleague(staff)
    admin, rosa = page_session(staff), page_session(rosa_staff)
    mine, theirs = _open_inline(admin, customer_id), _open_inline(rosa, customer_id)

    theirs.set("company", "Rosa's Blumenladen")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=theirs.data(), headers=HTMX))
    mine.set(FIRST_PHONE, "030 2")
    saved = admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX)

    assert _is_saved_row(saved), saved.text[:1500]
    assert "Company" in _message(saved.text) and rosa_staff.email in _message(saved.text)
    now = stored(staff.account_id, customer_id)
    assert now["company"] == "Rosa's Blumenladen" and _phone(now) == "030 2" and now["version"] == 3
    assert _events(staff.account_id, customer_id) == [
        (rosa_staff.email, {"company": ["Old company", "Rosa's Blumenladen"]}),
        (staff.email, {"phone_numbers.0.national_number": ["030 1", "030 2"]}),
    ]


def test_full_page_save_keeps_a_colleagues_company_changed_meanwhile(page_session, staff):
    customer_id = _create(staff, company="Old company", phone_number="030 1")
    rosa_staff = _colleague(staff)
    admin, rosa = page_session(staff), page_session(rosa_staff)
    action = f"/customers/{customer_id}/edit"
    mine = form_to(admin.get(action).text, action)
    theirs = form_to(rosa.get(action).text, action)

    theirs.set("company", "Rosa's Blumenladen")
    assert rosa.post(action, data=theirs.data()).status_code == 303
    mine.set(FIRST_PHONE, "030 2")
    saved = admin.post(action, data=mine.data())

    assert saved.status_code == 303, saved.text[:1500]
    shown = admin.get(saved.headers["location"]).text
    assert "Company" in _message(shown) and rosa_staff.email in _message(shown)
    now = stored(staff.account_id, customer_id)
    assert now["company"] == "Rosa's Blumenladen" and _phone(now) == "030 2"
    assert _events(staff.account_id, customer_id) == [
        (rosa_staff.email, {"company": ["Old company", "Rosa's Blumenladen"]}),
        (staff.email, {"phone_numbers.0.national_number": ["030 1", "030 2"]}),
    ]


def test_inline_save_keeps_the_star_set_meanwhile(page_session, staff):
    customer_id = _create(staff, phone_number="030 1")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    mine = _open_inline(admin, customer_id)
    starred = rosa.post(f"/customers/{customer_id}/toggle/is_favourite", data={"value": "1"}, headers=HTMX)
    assert starred.status_code == 200

    mine.set(FIRST_PHONE, "030 2")
    saved = admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX)

    assert _is_saved_row(saved), saved.text[:1500]
    now = stored(staff.account_id, customer_id)
    assert now["is_favourite"] is True and _phone(now) == "030 2"
    assert counters_agree(staff.account_id)[1] == (1, 1)


def test_both_adding_a_shipping_address_keeps_both(page_session, staff):
    customer_id = _create(staff, shipping_address=[{"city": "Berlin"}])
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    action = f"/customers/{customer_id}/edit"

    def add_address(client: httpx.Client, city: str) -> None:
        form = form_to(client.get(action).text, action)
        added = client.post(action, data={**form.data(), "_add": "shipping_address"})
        assert added.status_code == 200
        return form_to(added.text, action), city

    (mine, my_city), (theirs, their_city) = add_address(admin, "Hamburg"), add_address(rosa, "Köln")
    theirs.set("shipping_address-1-city", their_city)
    assert rosa.post(action, data=theirs.data()).status_code == 303
    mine.set("shipping_address-1-city", my_city)
    saved = admin.post(action, data=mine.data())

    assert saved.status_code == 303, saved.text[:1500]
    assert [a["city"] for a in stored(staff.account_id, customer_id)["shipping_address"]] == ["Berlin", "Köln", "Hamburg"]


def test_a_true_conflict_lists_only_that_field_and_keeps_the_input(page_session, staff):
    """Both change the company; the admin also changed the phone, Rosa the email: only Company is asked about."""
    customer_id = _create(staff, company="Old company", phone_number="030 1", email="old@example.com")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    mine, theirs = _open_inline(admin, customer_id), _open_inline(rosa, customer_id)
    theirs.set("company", "Rosa's Blumenladen")
    theirs.set("email", "rosa@example.com")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=theirs.data(), headers=HTMX))

    mine.set("company", "Admin GmbH")
    mine.set(FIRST_PHONE, "030 2")
    refused = admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX)

    assert _is_conflict_row(refused), refused.text[:1500]
    table = re.search(r'<table class="list conflict">.*?</table>', refused.text, re.S).group(0)
    assert re.findall(r'<th scope="row">(.*?)</th>', table) == ["Company"]
    assert "Admin GmbH" in table and "Rosa&#39;s Blumenladen" in table
    # Focus lands on taking the saved value, not on saving over it.
    assert re.search(r'<button[^>]*autofocus[^>]*>Take the saved value</button>', refused.text)
    kept = form_to(refused.text, f"/customers/{customer_id}/row")
    assert (kept.get("company"), kept.get(FIRST_PHONE), kept.get("email")) == ("Admin GmbH", "030 2", "rosa@example.com")
    assert stored(staff.account_id, customer_id)["company"] == "Rosa's Blumenladen"

    # Taking the saved value keeps the admin's phone in the form, and saving that keeps both.
    review = form_to(refused.text, f"/customers/{customer_id}/row?review=1")
    shown = admin.post(f"/customers/{customer_id}/row?review=1", data=review.data(), headers=HTMX)
    again = form_to(shown.text, f"/customers/{customer_id}/row")
    assert (again.get("company"), again.get(FIRST_PHONE)) == ("Rosa's Blumenladen", "030 2")
    assert _phone(stored(staff.account_id, customer_id)) == "030 1"  # nothing saved by looking
    assert _is_saved_row(admin.post(f"/customers/{customer_id}/row", data=again.data(), headers=HTMX))
    now = stored(staff.account_id, customer_id)
    assert (now["company"], _phone(now), now["email"]) == ("Rosa's Blumenladen", "030 2", "rosa@example.com")


def test_a_true_conflict_on_the_full_page_keeps_the_input_in_an_editable_form(page_session, staff):
    customer_id = _create(staff, note="Original", phone_number="030 1")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    action = f"/customers/{customer_id}/edit"
    mine = form_to(admin.get(action).text, action)
    theirs = form_to(rosa.get(action).text, action)
    theirs.set("note", "Rosa's note")
    assert rosa.post(action, data=theirs.data()).status_code == 303

    mine.set("note", "Admin's note")
    mine.set(FIRST_PHONE, "030 2")
    refused = admin.post(action, data=mine.data())

    assert refused.status_code == 409 and CONFLICT in refused.text
    table = re.search(r'<table class="list conflict">.*?</table>', refused.text, re.S).group(0)
    assert re.findall(r'<th scope="row">(.*?)</th>', table) == ["Note"]
    kept = form_to(refused.text, action)
    assert (kept.get("note"), kept.get(FIRST_PHONE)) == ("Admin's note", "030 2")
    assert re.search(r'<textarea[^>]*name="note"', refused.text)  # editable, not hidden
    won = admin.post(action, data=kept.data())
    assert won.status_code == 303
    now = stored(staff.account_id, customer_id)
    assert (now["note"], _phone(now)) == ("Admin's note", "030 2")


def test_a_shipping_address_removed_meanwhile_stays_removed_and_my_change_to_the_list_is_asked_about(page_session, staff):
    customer_id = _create(staff, phone_number="030 1", shipping_address=[{"city": "Berlin"}, {"city": "Köln"}])
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    action = f"/customers/{customer_id}/edit"
    mine = form_to(admin.get(action).text, action)
    other = form_to(admin.get(action).text, action)
    removed = rosa.post(action, data={**form_to(rosa.get(action).text, action).data(), "_remove": "shipping_address-0"})
    assert rosa.post(action, data=form_to(removed.text, action).data()).status_code == 303
    assert [a["city"] for a in stored(staff.account_id, customer_id)["shipping_address"]] == ["Köln"]

    mine.set(FIRST_PHONE, "030 2")
    assert admin.post(action, data=mine.data()).status_code == 303
    now = stored(staff.account_id, customer_id)
    assert [a["city"] for a in now["shipping_address"]] == ["Köln"] and _phone(now) == "030 2"

    other.set("shipping_address-1-city", "Bonn")  # an address of the list Rosa changed: asked, not guessed
    refused = admin.post(action, data=other.data())
    assert refused.status_code == 409 and CONFLICT in refused.text
    table = re.search(r'<table class="list conflict">.*?</table>', refused.text, re.S).group(0)
    assert re.findall(r'<th scope="row">(.*?)</th>', table) == ["Shipping addresses", "Shipping address 1: City", "Shipping address 2: City"]
    assert [a["city"] for a in stored(staff.account_id, customer_id)["shipping_address"]] == ["Köln"]


def test_a_form_opened_before_a_delete_and_restore_still_keeps_a_later_change(page_session, staff):
    """A restore counts as a change: its version follows the deleted one's, so a form opened before
    the delete does not look current when a colleague's change after the restore has the same number."""
    customer_id = _create(staff, company="Old company", phone_number="030 1")
    admin, rosa = page_session(staff), page_session(_colleague(staff))
    first = _open_inline(rosa, customer_id)
    first.set("company", "Second company")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=first.data(), headers=HTMX))
    mine = _open_inline(admin, customer_id)  # at version 2
    assert rosa.post(f"/customers/{customer_id}/delete").status_code in (200, 303)
    assert rosa.post(f"/customers/trash/{customer_id}/restore").status_code in (200, 303)
    theirs = _open_inline(rosa, customer_id)
    theirs.set("company", "Rosa's Blumenladen")
    assert _is_saved_row(rosa.post(f"/customers/{customer_id}/row", data=theirs.data(), headers=HTMX))

    mine.set(FIRST_PHONE, "030 2")
    assert _is_saved_row(admin.post(f"/customers/{customer_id}/row", data=mine.data(), headers=HTMX))
    now = stored(staff.account_id, customer_id)
    assert (now["company"], _phone(now)) == ("Rosa's Blumenladen", "030 2")
