"""The list as the user left it (search, sort, page) survives opening a customer, editing, a refused save,
saving and cancelling, with and without JavaScript, for customers and users alike."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    CustomerRef,
    Staff,
    create_customers,
    create_user,
    get_customer,
    row,
    section,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def paged(admin: Staff, token: str) -> list[CustomerRef]:
    """33 customers of one word: sorted by name descending, the second page holds the three first by name."""
    return create_customers(admin.account_id, 33, token)


def test_the_list_state_survives_the_customers_page_a_refused_save_and_the_save(logged_in_page: Page, paged, admin: Staff, token: str) -> None:
    page = logged_in_page
    target = paged[1]
    page.goto(f"/customers?q={token}&sort=name&dir=desc")
    # The page is chosen with htmx: the state is in the address bar only because htmx pushed it there.
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next →").click()
    listing = f"{admin.base_url}/customers?q={token}&sort=name&dir=desc&page=2"
    expect(page).to_have_url(listing)

    row(page, target).get_by_role("link", name=target.name, exact=True).click()
    expect(page).to_have_url(f"{admin.base_url}/customers/{target.id}")
    expect(page.get_by_role("heading", name=target.name, level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Back to customers")).to_have_attribute("href", listing[len(admin.base_url):])

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name=f"Edit {target.name}", level=1)).to_be_visible()
    section(page, "Contact").get_by_label("Email", exact=True).fill("not an email")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#email-error")).to_have_text("Not a valid email address.")
    section(page, "Contact").get_by_label("Email", exact=True).fill("fixed@example.com")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(listing)
    expect(page.locator("#messages")).to_have_text(f"Saved {target.name}.")
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text("Page 2 of 2")
    expect(row(page, target)).to_be_visible()
    assert get_customer(admin.account_id, target.id).email == "fixed@example.com"


def test_cancel_and_back_from_the_edit_page_return_to_the_list_state(logged_in_page: Page, paged, admin: Staff, token: str) -> None:
    page = logged_in_page
    target = paged[0]
    listing = f"{admin.base_url}/customers?q={token}&sort=name&dir=desc&page=2"
    for leave in ("Cancel", "Back to customers"):
        page.goto(listing)
        row(page, target).get_by_role("link", name=f"Edit {target.name}").click()  # the inline edit
        row(page, target).get_by_role("link", name="All fields…").click()
        expect(page.get_by_role("heading", name=f"Edit {target.name}", level=1)).to_be_visible()
        section(page, "Person").get_by_label("Company").fill("Never saved GmbH")
        page.get_by_role("link", name=leave, exact=True).click()
        expect(page).to_have_url(listing)
        expect(row(page, target)).to_be_visible()
    assert get_customer(admin.account_id, target.id).company == ""


def test_without_javascript_saving_returns_to_the_sorted_page(no_js_page: Page, paged, admin: Staff, token: str) -> None:
    page = no_js_page
    target = paged[2]
    listing = f"{admin.base_url}/customers?q={token}&sort=name&dir=desc&page=2"
    page.goto(listing)
    row(page, target).get_by_role("link", name=f"Edit {target.name}").click()
    section(page, "Person").get_by_label("Company").fill("Saved GmbH")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(listing)
    expect(page.locator("#messages")).to_have_text(f"Saved {target.name}.")
    assert get_customer(admin.account_id, target.id).company == "Saved GmbH"


def test_users_return_to_their_list_state(logged_in_page: Page, admin: Staff) -> None:
    page = logged_in_page
    other = create_user(admin, "staff")
    listing = f"{admin.base_url}/users?q={other.email}&sort=role&dir=desc"
    page.goto(listing)
    page.get_by_role("link", name=f"Edit {other.email}").click()
    page.get_by_label("Name").fill("Renamed")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(listing)
    expect(page.locator("#messages")).to_have_text(f"Saved {other.email}.")
    expect(page.locator("#results tbody td[data-label='Name']")).to_have_text("Renamed")


def test_the_customers_page_stars_and_deletes(logged_in_page: Page, add_customer, admin: Staff, token: str) -> None:
    page = logged_in_page
    customer = add_customer(first_name="Ilse", last_name=token, city="Kiel")
    listing = f"{admin.base_url}/customers?q={token}"
    page.goto(listing)
    row(page, customer).get_by_role("link", name=customer.name, exact=True).click()
    expect(page.get_by_role("heading", name=customer.name, level=1)).to_be_visible()

    star = page.get_by_role("button", name="Favourite")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(page.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("heading", name=customer.name, level=1)).to_be_visible()
    assert get_customer(admin.account_id, customer.id).is_favourite is True

    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name=f"Delete {customer.name}?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(listing)
    expect(page.locator("#messages")).to_contain_text(f"Deleted {customer.name}")
    assert get_customer(admin.account_id, customer.id) is None
