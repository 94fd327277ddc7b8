"""The full edit page: every field, the billing address, shipping addresses; creating a customer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import CustomerRef, Staff, get_customer, row, search_for, section

pytestmark = pytest.mark.e2e


@pytest.fixture
def customer(add_customer, token: str) -> CustomerRef:
    return add_customer(first_name="Vera", last_name=token, address1="Altweg 1", zipcode="10115", city="Berlin", country="DE")


def test_edit_the_billing_address_and_add_then_remove_a_shipping_address(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    page.goto(f"/customers/{customer.id}/edit")
    expect(page.get_by_role("heading", name=f"Edit {customer.name}", level=1)).to_be_visible()

    billing = page.get_by_role("group", name="Billing address")
    expect(billing.get_by_label("Street and number")).to_have_value("Altweg 1")
    billing.get_by_label("Street and number").fill("Neue Straße 7")
    billing.get_by_label("Postcode").fill("04109")
    billing.get_by_label("City").fill("Leipzig")
    expect(section(page, "Shipping addresses")).to_contain_text("None yet.")

    page.get_by_role("button", name="Add shipping address").click()
    shipping = page.get_by_role("group", name="Shipping address 1")
    expect(shipping).to_be_visible()
    # What was typed before adding is still there.
    expect(page.get_by_role("group", name="Billing address").get_by_label("City")).to_have_value("Leipzig")
    shipping.get_by_label("Street and number").fill("Lagerweg 3")
    shipping.get_by_label("Postcode").fill("20095")
    shipping.get_by_label("City").fill("Hamburg")
    shipping.get_by_label("Country").select_option("DE")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(r"/customers$"))
    expect(page.locator("#messages")).to_have_text(f"Saved {customer.name}.")
    expect(row(page, customer).locator("td[data-label='City']")).to_have_text("Leipzig")

    # Reopen: both addresses are there.
    page.goto(f"/customers/{customer.id}/edit")
    billing = page.get_by_role("group", name="Billing address")
    expect(billing.get_by_label("Street and number")).to_have_value("Neue Straße 7")
    expect(billing.get_by_label("Postcode")).to_have_value("04109")
    expect(billing.get_by_label("City")).to_have_value("Leipzig")
    shipping = page.get_by_role("group", name="Shipping address 1")
    expect(shipping.get_by_label("Street and number")).to_have_value("Lagerweg 3")
    expect(shipping.get_by_label("City")).to_have_value("Hamburg")
    expect(shipping.get_by_label("Country")).to_have_value("DE")

    # Remove it again.
    shipping.get_by_role("button", name="Remove this address").click()
    expect(page.get_by_role("group", name="Shipping address 1")).to_have_count(0)
    expect(section(page, "Shipping addresses")).to_contain_text("None yet.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#messages")).to_have_text(f"Saved {customer.name}.")

    page.goto(f"/customers/{customer.id}/edit")
    expect(page.get_by_role("group", name="Shipping address 1")).to_have_count(0)
    expect(page.get_by_role("group", name="Billing address").get_by_label("City")).to_have_value("Leipzig")
    stored = get_customer(admin.account_id, customer.id)
    assert stored.shipping_addresses == []
    assert (stored.billing_address.address1, stored.billing_address.city) == ("Neue Straße 7", "Leipzig")


def test_a_field_error_on_the_full_page_keeps_everything_typed(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    page.goto(f"/customers/{customer.id}/edit")
    page.get_by_label("Note").fill("Calls on Mondays")
    page.get_by_label("Birthday").fill("2999-01-01")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below. Nothing was saved yet.")
    expect(page.locator("#birthday-error")).to_have_text("The birthday cannot be in the future.")
    expect(page.get_by_label("Note")).to_have_value("Calls on Mondays")
    assert get_customer(admin.account_id, customer.id).note == ""


def test_cancel_on_the_full_page_changes_nothing(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    page.goto(f"/customers/{customer.id}/edit")
    section(page, "Person").get_by_label("Company").fill("Never saved GmbH")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/customers$"))
    assert get_customer(admin.account_id, customer.id).company == ""


def test_create_a_customer_after_fixing_the_field_errors(logged_in_page: Page, admin: Staff, token: str) -> None:
    page = logged_in_page
    page.get_by_role("link", name="New customer").click()
    expect(page).to_have_url(re.compile(r"/customers/new$"))
    expect(page.get_by_role("heading", name="New customer", level=1)).to_be_visible()

    page.get_by_label("Email", exact=True).fill(f"neu.{token.lower()}@example.com")
    page.get_by_role("button", name="Create customer").click()

    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below. Nothing was saved yet.")
    for field_id in ("first_name", "last_name", "company"):
        expect(page.locator(f"#{field_id}-error")).to_have_text("Name or company must be set")
        expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email", exact=True)).to_have_value(f"neu.{token.lower()}@example.com")

    person = section(page, "Person")
    person.get_by_label("First name").fill("Nora")
    person.get_by_label("Last name").fill(token)
    page.get_by_role("group", name="Billing address").get_by_label("City").fill("Erfurt")
    page.get_by_role("button", name="Create customer").click()

    expect(page).to_have_url(re.compile(rf"/customers\?q=Nora\+{token}$"))
    expect(page.locator("#messages")).to_have_text(f"Created Nora {token}.")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td[data-label='Name']")).to_have_text(f"Nora {token}")
    expect(rows.locator("td[data-label='Email']")).to_have_text(f"neu.{token.lower()}@example.com")
    expect(rows.locator("td[data-label='City']")).to_have_text("Erfurt")


def test_create_a_company_only_customer(logged_in_page: Page, token: str) -> None:
    page = logged_in_page
    page.goto("/customers/new")
    section(page, "Person").get_by_label("Company").fill(f"{token} Handel")
    page.get_by_label("B2B").check()
    page.get_by_role("button", name="Create customer").click()

    expect(page.locator("#messages")).to_have_text(f"Created {token} Handel.")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td[data-label='Name']")).to_have_text(f"{token} Handel")
    expect(rows.locator("td[data-label='Tags']")).to_have_text("B2B")


def test_after_creating_a_company_with_a_short_word_the_list_shows_it(logged_in_page: Page, token: str) -> None:
    page = logged_in_page
    page.goto("/customers/new")
    section(page, "Person").get_by_label("Company").fill(f"{token} AG")
    page.get_by_role("button", name="Create customer").click()

    expect(page.locator("#messages")).to_have_text(f"Created {token} AG.")
    expect(page.locator("#results tbody tr")).to_have_count(1)


def _events(account_id: int, customer_id: int) -> int:
    from app.customers import history
    from app.database.engine import session_scope

    with session_scope() as session:
        return len(history.events(session, account_id, customer_id))


def test_saving_the_full_form_and_the_row_unchanged_changes_nothing(logged_in_page: Page, add_customer, admin: Staff, token: str) -> None:
    """In Chromium itself: a birthday with a time of day, a note with line breaks, Unicode names and a
    shipping address survive both saves as they were, and no change is recorded."""
    page = logged_in_page
    customer = add_customer(
        first_name="Zoë", last_name=token, birthday="1985-04-30T10:49:52Z", note="Line one\r\nline two\rthree",
        email="zoe@example.com", phone_number="+49 (30) 765-43.21", address1="Straße des 17. Juni 1", city="Berlin", country="DE",
        **{"shipping_address-0-city": "Bremen", "shipping_address-0-country": "AT"},
    )
    before = get_customer(admin.account_id, customer.id)

    page.goto(f"/customers/{customer.id}/edit")
    expect(page.get_by_label("Birthday")).to_have_value("1985-04-30")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#messages")).to_have_text(f"Saved {customer.name}.")

    search_for(page, token)
    row(page, customer).get_by_role("link", name=f"Edit {customer.name}").click()
    form = row(page, customer).get_by_role("form", name=f"Edit {customer.name}")
    expect(form.get_by_label("First name")).to_be_focused()
    form.get_by_role("button", name="Save").click()
    expect(row(page, customer)).to_have_class("saved")

    after = get_customer(admin.account_id, customer.id)
    assert (after.version, after.updated_at, after.birthday, after.note) == (before.version, before.updated_at, before.birthday, "Line one\nline two\nthree")
    assert [(a.kind, a.city, a.country) for a in after.addresses] == [(a.kind, a.city, a.country) for a in before.addresses]
    assert _events(admin.account_id, customer.id) == 1  # its create


def _colleague_saves(account_id: int, customer_id: int, **fields) -> None:
    from app.customers import service
    from app.database.engine import session_scope
    from app.shared.audit import Who

    with session_scope() as session:
        customer = service.get_for_update(session, account_id, customer_id)
        service.update_customer(session, customer, fields, Who("user", None, "rosa@example.com"))


def test_a_colleagues_shipping_address_and_company_are_kept_beside_mine(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    page.goto(f"/customers/{customer.id}/edit")
    page.get_by_role("button", name="Add shipping address").click()
    _colleague_saves(admin.account_id, customer.id, company="Rosa's Blumenladen", shipping_address=[{"city": "Köln", "country": "DE"}])

    shipping = page.get_by_role("group", name="Shipping address 1")
    shipping.get_by_label("City").fill("Hamburg")
    shipping.get_by_label("Country").select_option("DE")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#messages")).to_contain_text("rosa@example.com")
    stored = get_customer(admin.account_id, customer.id)
    assert stored.company == "Rosa's Blumenladen"
    assert [a.city for a in stored.shipping_addresses] == ["Köln", "Hamburg"]


def test_a_true_conflict_on_the_full_page_focuses_taking_the_saved_value(logged_in_page: Page, customer: CustomerRef, admin: Staff) -> None:
    page = logged_in_page
    page.goto(f"/customers/{customer.id}/edit")
    page.get_by_role("button", name="Add phone number").click()
    _colleague_saves(admin.account_id, customer.id, company="Rosa's Blumenladen")
    section(page, "Person").get_by_label("Company").fill("Vera GmbH")
    phone = page.get_by_role("group", name="Phone number 1").get_by_label("Number")
    phone.fill("030 999")
    page.get_by_role("button", name="Save", exact=True).click()

    alert = page.get_by_role("alert")
    expect(alert.locator("tbody th")).to_have_text(["Company"])
    expect(alert.get_by_role("button", name="Take the saved value")).to_be_focused()
    expect(section(page, "Person").get_by_label("Company")).to_have_value("Vera GmbH")
    page.keyboard.press("Enter")
    expect(section(page, "Person").get_by_label("Company")).to_have_value("Rosa's Blumenladen")
    expect(phone).to_have_value("030 999")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Saved")
    stored = get_customer(admin.account_id, customer.id)
    assert (stored.company, stored.phone_number) == ("Rosa's Blumenladen", "030 999")
