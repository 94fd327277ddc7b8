"""Editing a customer in place, in the list row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import CustomerRef, Staff, assert_same_document, get_customer, mark_page, row, search_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def customer(add_customer, token: str) -> CustomerRef:
    return add_customer(first_name="Ilse", last_name=f"{token}", email="ilse@example.com", phone_number="030 1234567", city="Jena")


def open_inline_edit(page: Page, customer: CustomerRef):
    search_for(page, customer.name.split()[-1])
    row(page, customer).get_by_role("link", name=f"Edit {customer.name}").click()
    form = row(page, customer).get_by_role("form", name=f"Edit {customer.name}")
    expect(form).to_be_visible()
    # The app moves the focus into the form once htmx has settled; wait for it so that it cannot land mid-typing.
    expect(form.get_by_label("First name")).to_be_focused()
    return form


def test_edit_turns_the_row_into_a_form_with_the_current_values(logged_in_page: Page, customer: CustomerRef) -> None:
    page = logged_in_page
    mark_page(page)
    form = open_inline_edit(page, customer)

    expect(form.get_by_label("First name")).to_have_value("Ilse")
    expect(form.get_by_label("Email")).to_have_value("ilse@example.com")
    expect(form.get_by_label("Phone")).to_have_value("030 1234567")
    expect(form.get_by_role("button", name="Save")).to_be_visible()
    expect(form.get_by_role("link", name="Cancel")).to_be_visible()
    # The first field has the focus, ready to type.
    expect(form.get_by_label("First name")).to_be_focused()
    assert_same_document(page)


def test_saving_an_invalid_email_keeps_the_form_with_the_error_by_the_field(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    form.get_by_label("First name").fill("Ilsabe")
    email = form.get_by_label("Email")
    email.fill("ilse@example")  # the browser takes it; the server does not
    form.get_by_role("button", name="Save").click()

    form = row(page, customer).get_by_role("form")
    error = form.locator("#email-error")
    expect(error).to_have_text("Not a valid email address.")
    email = form.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", "email-error")
    # What was typed is still there, in every field.
    expect(email).to_have_value("ilse@example")
    expect(form.get_by_label("First name")).to_have_value("Ilsabe")
    # Nothing was saved.
    stored = get_customer(admin.account_id, customer.id)
    assert (stored.first_name, stored.email) == ("Ilse", "ilse@example.com")

    # Correcting it saves.
    email.fill("ilsabe@example.com")
    form.get_by_role("button", name="Save").click()
    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    expect(row(page, customer)).to_contain_text("Ilsabe")
    expect(row(page, customer)).to_contain_text("ilsabe@example.com")


def test_saving_valid_input_shows_the_updated_row(logged_in_page: Page, customer: CustomerRef, admin: Staff, token: str) -> None:
    page = logged_in_page
    mark_page(page)
    form = open_inline_edit(page, customer)
    form.get_by_label("Last name").fill(f"{token}-Berg")
    form.get_by_label("Phone").fill("+49 40 555")
    form.get_by_label("VIP", exact=True).check()
    form.get_by_role("button", name="Save").click()

    updated = row(page, customer)
    expect(updated.get_by_role("form")).to_have_count(0)
    expect(updated.locator("td[data-label='Name']")).to_have_text(f"Ilse {token}-Berg")
    # The phone rule of every face: a number typed with its country is kept in national format (its code, 49, beside it).
    expect(updated.locator("td[data-label='Phone']")).to_have_text("040 555")
    expect(updated.locator("td[data-label='Tags']")).to_have_text("VIP")
    # Fields the row form does not show are kept.
    expect(updated.locator("td[data-label='City']")).to_have_text("Jena")
    assert_same_document(page)

    page.reload()
    expect(row(page, customer).locator("td[data-label='Name']")).to_have_text(f"Ilse {token}-Berg")
    stored = get_customer(admin.account_id, customer.id)
    assert (stored.last_name, stored.phone_number, stored.is_vip, stored.email) == (f"{token}-Berg", "040 555", True, "ilse@example.com")


def _numbers(account_id: int, customer_id: int) -> list[tuple[int, str, str]]:
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        customer = service.get(session, account_id, customer_id)
        return [(p.id, p.national_number, p.country_code) for p in customer.phones]


def test_the_row_edits_the_first_phone_number_and_keeps_the_others(logged_in_page: Page, add_customer, admin: Staff, token: str) -> None:
    page = logged_in_page
    customer = add_customer(
        first_name="Ilse", last_name=token, **{"phone_numbers-0-national_number": "030 1234567", "phone_numbers-1-national_number": "0171 7654321"}
    )
    before = _numbers(admin.account_id, customer.id)
    form = open_inline_edit(page, customer)
    phone = form.get_by_label("Phone")
    expect(phone).to_have_value("030 1234567")

    phone.fill("12")  # the same rule as everywhere: too short
    form.get_by_role("button", name="Save").click()
    form = row(page, customer).get_by_role("form")
    expect(form.locator("[id='phone_numbers-0-national_number-error']")).to_contain_text("Not a possible phone number")
    assert _numbers(admin.account_id, customer.id) == before

    form.get_by_label("Phone").fill("+49 (89) 123456")
    form.get_by_role("button", name="Save").click()
    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    expect(row(page, customer).locator("td[data-label='Phone']")).to_have_text("089 123456")
    # The first number changed in place (its id kept); the second is untouched.
    assert _numbers(admin.account_id, customer.id) == [(before[0][0], "089 123456", "49"), before[1]]


def test_escape_cancels_and_restores_the_row(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    form.get_by_label("First name").fill("Somebody else")
    form.get_by_label("First name").press("Escape")

    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    expect(row(page, customer).locator("td[data-label='Name']")).to_have_text(customer.name)
    assert get_customer(admin.account_id, customer.id).first_name == "Ilse"


def test_cancel_link_restores_the_row(logged_in_page: Page, customer: CustomerRef) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    form.get_by_label("Email").fill("changed@example.com")
    form.get_by_role("link", name="Cancel").click()

    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    expect(row(page, customer).locator("td[data-label='Email']")).to_have_text("ilse@example.com")


def test_enter_saves(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    form.get_by_label("Company").fill("Ilse & Co")
    form.get_by_label("Company").press("Enter")

    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    expect(row(page, customer).locator("td[data-label='Company']")).to_have_text("Ilse & Co")
    assert get_customer(admin.account_id, customer.id).company == "Ilse & Co"


def test_clearing_both_name_and_company_is_refused_inline(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    form.get_by_label("First name").fill("")
    form.get_by_label("Last name").fill("")
    form.get_by_role("button", name="Save").click()

    form = row(page, customer).get_by_role("form")
    expect(form.locator("#last_name-error")).to_have_text("Name or company must be set")
    expect(form.get_by_label("Last name")).to_have_value("")
    assert get_customer(admin.account_id, customer.id).last_name == customer.name.split()[-1]


def test_all_fields_link_leads_to_the_full_edit_page(logged_in_page: Page, customer: CustomerRef) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    form.get_by_role("link", name="All fields…").click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.id}/edit$"))
    expect(page.get_by_role("heading", name=f"Edit {customer.name}")).to_be_visible()


def _colleague_saves(account_id: int, customer_id: int, **fields) -> None:
    """Someone else saves the customer (through the service, under their own name)."""
    from app.customers import service
    from app.database.engine import session_scope
    from app.shared.audit import Who

    with session_scope() as session:
        customer = service.get_for_update(session, account_id, customer_id)
        service.update_customer(session, customer, fields, Who("user", None, "rosa@example.com"))


def test_a_company_saved_meanwhile_is_kept_when_only_the_phone_is_changed(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    _colleague_saves(admin.account_id, customer.id, company="Rosa's Blumenladen")

    form.get_by_label("Phone").fill("030 7654321")
    form.get_by_role("button", name="Save").click()

    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    expect(row(page, customer)).to_contain_text("Rosa's Blumenladen")
    expect(page.locator("#messages")).to_contain_text("rosa@example.com")
    stored = get_customer(admin.account_id, customer.id)
    assert (stored.company, stored.phone_number) == ("Rosa's Blumenladen", "030 7654321")


def test_a_true_conflict_focuses_taking_the_saved_value_and_keeps_the_other_changes(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    form = open_inline_edit(page, customer)
    _colleague_saves(admin.account_id, customer.id, company="Rosa's Blumenladen")

    form.get_by_label("Company").fill("Ilse GmbH")
    form.get_by_label("Phone").fill("030 7654321")
    form.get_by_role("button", name="Save").click()

    alert = row(page, customer).get_by_role("alert")
    expect(alert).to_contain_text("was changed meanwhile")
    expect(alert.locator("tbody th")).to_have_text(["Company"])
    take = alert.get_by_role("button", name="Take the saved value")
    expect(take).to_be_focused()  # Enter does not save over the other change
    form = row(page, customer).get_by_role("form", name=f"Edit {customer.name}")
    expect(form.get_by_label("Company")).to_have_value("Ilse GmbH")  # the input is kept, editable
    assert get_customer(admin.account_id, customer.id).phone_number == "030 1234567"

    page.keyboard.press("Enter")
    form = row(page, customer).get_by_role("form", name=f"Edit {customer.name}")
    expect(form.get_by_label("Company")).to_have_value("Rosa's Blumenladen")
    expect(form.get_by_label("Phone")).to_have_value("030 7654321")
    form.get_by_role("button", name="Save").click()
    expect(row(page, customer).get_by_role("form")).to_have_count(0)
    stored = get_customer(admin.account_id, customer.id)
    assert (stored.company, stored.phone_number) == ("Rosa's Blumenladen", "030 7654321")
