"""The back office without JavaScript: every action still works through plain links and forms."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Staff, get_customer, log_in, row, section

pytestmark = pytest.mark.e2e


def test_inline_edit_link_leads_to_the_full_edit_page_and_saving_works(no_js_page: Page, add_customer, admin: Staff, token: str) -> None:
    page = no_js_page
    otto = add_customer(first_name="Otto", last_name=token, phone_number="089 111")
    page.goto(f"/customers?q={token}")
    row(page, otto).get_by_role("link", name=f"Edit {otto.name}").click()

    expect(page).to_have_url(re.compile(rf"/customers/{otto.id}/edit$"))
    expect(page.get_by_role("heading", name=f"Edit {otto.name}", level=1)).to_be_visible()
    section(page, "Phone numbers").get_by_role("group", name="Phone number 1").get_by_label("Number").fill("089 222 333")
    section(page, "Person").get_by_label("First name").fill("Ottilie")
    page.get_by_role("button", name="Save", exact=True).click()

    # Back on the list as it was left.
    expect(page).to_have_url(re.compile(rf"/customers\?q={token}$"))
    expect(page.locator("#messages")).to_have_text(f"Saved Ottilie {token}.")
    stored = get_customer(admin.account_id, otto.id)
    assert (stored.first_name, stored.phone_number) == ("Ottilie", "089 222 333")
    page.goto(f"/customers?q={token}")
    expect(row(page, otto).locator("td[data-label='Phone']")).to_have_text("089 222 333")


def test_a_field_error_without_javascript_is_shown_on_the_full_page(no_js_page: Page, add_customer, admin: Staff, token: str) -> None:
    page = no_js_page
    otto = add_customer(first_name="Otto", last_name=token)
    page.goto(f"/customers/{otto.id}/edit")
    section(page, "Contact").get_by_label("Email", exact=True).fill("otto@example")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#email-error")).to_have_text("Not a valid email address.")
    expect(section(page, "Contact").get_by_label("Email", exact=True)).to_have_value("otto@example")
    assert get_customer(admin.account_id, otto.id).email == ""


def test_the_star_toggles_through_a_form_post(no_js_page: Page, add_customer, admin: Staff, token: str) -> None:
    page = no_js_page
    uwe = add_customer(first_name="Uwe", last_name=token)
    add_customer(first_name="Vic", last_name=token)
    page.goto(f"/customers?q={token}")
    star = row(page, uwe).get_by_role("button", name=f"Favourite: {uwe.name}")
    expect(star).to_have_attribute("aria-pressed", "false")

    star.click()
    # Back on the same list (the search kept), with the star on.
    expect(page).to_have_url(re.compile(rf"/customers\?q={token}$"))
    expect(row(page, uwe).get_by_role("button", name=f"Favourite: {uwe.name}")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    assert get_customer(admin.account_id, uwe.id).is_favourite is True

    row(page, uwe).get_by_role("button", name=f"Favourite: {uwe.name}").click()
    expect(row(page, uwe).get_by_role("button", name=f"Favourite: {uwe.name}")).to_have_attribute("aria-pressed", "false")
    assert get_customer(admin.account_id, uwe.id).is_favourite is False


def test_favourites_filter_and_sorting_work_as_links_and_forms(no_js_page: Page, add_customer, token: str) -> None:
    page = no_js_page
    fav = add_customer(first_name="Anke", last_name=token, company="Zebra", is_favourite=True)
    add_customer(first_name="Bodo", last_name=token, company="Affe")
    page.goto(f"/customers?q={token}")

    page.get_by_role("columnheader", name=re.compile(r"^Company")).get_by_role("link").click()
    expect(page.get_by_role("columnheader", name=re.compile(r"^Company"))).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#results tbody tr td[data-label='Company']")).to_have_text(["Affe", "Zebra"])

    page.get_by_label("Favourites", exact=True).check()
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"favourites=1"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(row(page, fav)).to_be_visible()
    # The sort chosen before is kept by the form's hidden fields.
    expect(page.get_by_role("columnheader", name=re.compile(r"^Company"))).to_have_attribute("aria-sort", "ascending")


def test_create_a_customer_without_javascript(no_js_page: Page, token: str) -> None:
    page = no_js_page
    page.goto("/customers")
    page.get_by_role("link", name="New customer").click()
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator("#company-error")).to_have_text("Name or company must be set")

    person = section(page, "Person")
    person.get_by_label("First name").fill("Rike")
    person.get_by_label("Last name").fill(token)
    page.get_by_role("button", name="Create customer").click()
    expect(page.locator("#messages")).to_have_text(f"Created Rike {token}.")
    expect(page.locator("#results tbody tr")).to_have_count(1)


def test_log_in_and_out_without_javascript(new_context, admin: Staff) -> None:
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, admin)
    expect(page).to_have_url(re.compile(r"/customers$"))
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_log_out_everywhere_without_javascript(new_context, fresh_admin: Staff) -> None:
    elsewhere = new_context().new_page()
    log_in(elsewhere, fresh_admin)
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, fresh_admin)

    page.get_by_role("button", name="Log out everywhere").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#messages")).to_have_text("Logged out on every device.")
    elsewhere.goto("/customers")
    expect(elsewhere).to_have_url(re.compile(r"/login\?next="))
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next="))
