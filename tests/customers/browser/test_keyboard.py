"""Working the list with the keyboard only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Staff, get_customer, row, search_for

pytestmark = pytest.mark.e2e


def tab_to(page: Page, description: str, test: str, limit: int = 40) -> None:
    """Press Tab until the focused element passes ``test`` (a JS expression over ``el``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({test}); }})()"):
            return
    raise AssertionError(f"Tab never reached {description}")


def test_search_edit_and_save_with_the_keyboard_only(logged_in_page: Page, add_customer, admin: Staff, token: str) -> None:
    page = logged_in_page
    kim = add_customer(first_name="Kim", last_name=token, email="kim@example.com")
    add_customer(first_name="Lou", last_name=f"{token}z")

    tab_to(page, "the search field", "el.id === 'search'")
    with page.expect_response(lambda r: "/customers?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.keyboard.type(token)
    expect(page.locator("#results tbody tr")).to_have_count(2)

    tab_to(page, f"Edit {kim.name}", f"el.getAttribute('aria-label') === 'Edit {kim.name}'")
    page.keyboard.press("Enter")

    form = row(page, kim).get_by_role("form", name=f"Edit {kim.name}")
    expect(form).to_be_visible()
    # The focus moved into the form, on its first field.
    expect(form.get_by_label("First name")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("Kimberly")
    page.keyboard.press("Enter")

    expect(row(page, kim).get_by_role("form")).to_have_count(0)
    expect(row(page, kim).locator("td[data-label='Name']")).to_have_text(f"Kimberly {token}")
    # The focus lands on the row's Edit button again, not lost to the page.
    expect(row(page, kim).get_by_role("link", name=f"Edit Kimberly {token}")).to_be_focused()
    assert get_customer(admin.account_id, kim.id).first_name == "Kimberly"


def test_escape_from_the_keyboard_cancels_the_edit(logged_in_page: Page, add_customer, token: str) -> None:
    page = logged_in_page
    kim = add_customer(first_name="Kim", last_name=token)
    page.goto(f"/customers?q={token}")
    tab_to(page, f"Edit {kim.name}", f"el.getAttribute('aria-label') === 'Edit {kim.name}'")
    page.keyboard.press("Enter")
    form = row(page, kim).get_by_role("form")
    expect(form.get_by_label("First name")).to_be_focused()
    page.keyboard.type("Typed but dropped")
    page.keyboard.press("Escape")

    expect(row(page, kim).get_by_role("form")).to_have_count(0)
    expect(row(page, kim).locator("td[data-label='Name']")).to_have_text(kim.name)


def test_after_escape_the_focus_returns_to_the_rows_edit_button(logged_in_page: Page, add_customer, token: str) -> None:
    page = logged_in_page
    kim = add_customer(first_name="Kim", last_name=token)
    page.goto(f"/customers?q={token}")
    tab_to(page, f"Edit {kim.name}", f"el.getAttribute('aria-label') === 'Edit {kim.name}'")
    page.keyboard.press("Enter")
    expect(row(page, kim).get_by_role("form").get_by_label("First name")).to_be_focused()
    page.keyboard.press("Escape")

    expect(row(page, kim).get_by_role("form")).to_have_count(0)
    expect(row(page, kim).get_by_role("link", name=f"Edit {kim.name}")).to_be_focused(timeout=1000)


def test_toggling_a_star_from_the_keyboard_keeps_the_focus_on_it(logged_in_page: Page, add_customer, token: str) -> None:
    page = logged_in_page
    kim = add_customer(first_name="Kim", last_name=token)
    search_for(page, token)
    tab_to(page, f"the star of {kim.name}", f"el.getAttribute('aria-label') === 'Favourite: {kim.name}'")
    page.keyboard.press("Enter")
    star = row(page, kim).get_by_role("button", name=f"Favourite: {kim.name}")
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(star).to_be_focused(timeout=1000)
