"""Deleting a customer: a confirmation dialog with JavaScript, a confirmation page without."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    CustomerRef,
    Staff,
    create_user,
    get_customer,
    row,
    search_for,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def pair(add_customer, token: str) -> tuple[CustomerRef, CustomerRef]:
    return (
        add_customer(first_name="Doris", last_name=f"{token}"),
        add_customer(first_name="Egon", last_name=f"{token}"),
    )


def test_delete_opens_a_dialog_naming_the_customer_and_cancel_changes_nothing(logged_in_page: Page, pair, admin: Staff, token: str) -> None:
    page = logged_in_page
    doomed, _ = pair
    search_for(page, token)
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()

    dialog = page.get_by_role("dialog", name=f"Delete {doomed.name}?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"This removes the customer {doomed.name}.")
    # The safe choice has the focus.
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()

    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#results tbody tr")).to_have_count(2)
    expect(row(page, doomed)).to_be_visible()
    assert get_customer(admin.account_id, doomed.id) is not None

    # Escape closes it too.
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()
    expect(page.get_by_role("dialog", name=f"Delete {doomed.name}?")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert get_customer(admin.account_id, doomed.id) is not None


def test_confirming_removes_the_row_and_says_deleted(logged_in_page: Page, pair, admin: Staff, token: str) -> None:
    page = logged_in_page
    doomed, kept = pair
    search_for(page, token)
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()
    page.get_by_role("dialog", name=f"Delete {doomed.name}?").get_by_role("button", name="Delete").click()

    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(row(page, doomed)).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text(f"Deleted {doomed.name}")
    expect(row(page, kept)).to_be_visible()
    assert get_customer(admin.account_id, doomed.id) is None

    page.reload()
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#count")).to_have_text(f"1 customer matching “{token}”")


def test_deleting_without_javascript_uses_a_confirmation_page(no_js_page: Page, pair, admin: Staff, token: str) -> None:
    page = no_js_page
    doomed, kept = pair
    page.goto(f"/customers?q={token}")
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()

    expect(page).to_have_url(re.compile(rf"/customers/{doomed.id}/delete$"))
    expect(page.get_by_role("heading", name=f"Delete {doomed.name}?")).to_be_visible()

    # Cancel goes back to the list as it was, and changes nothing.
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/customers\?q={token}$"))
    expect(page.locator("#results tbody tr")).to_have_count(2)

    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()
    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(re.compile(r"/customers(\?|$)"))
    expect(page.locator("#messages")).to_contain_text(f"Deleted {doomed.name}")
    expect(row(page, doomed)).to_have_count(0)
    assert get_customer(admin.account_id, doomed.id) is None
    assert get_customer(admin.account_id, kept.id) is not None


def test_deleting_without_javascript_returns_to_the_search(no_js_page: Page, pair, token: str) -> None:
    page = no_js_page
    doomed, _ = pair
    page.goto(f"/customers?q={token}")
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text(f"Deleted {doomed.name}")
    expect(page).to_have_url(re.compile(rf"/customers\?q={token}$"), timeout=1000)


def test_the_count_follows_a_deletion(logged_in_page: Page, pair, token: str) -> None:
    page = logged_in_page
    doomed, _ = pair
    search_for(page, token)
    expect(page.locator("#count")).to_have_text(f"2 customers matching “{token}”")
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()
    page.get_by_role("dialog", name=f"Delete {doomed.name}?").get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text(f"Deleted {doomed.name}")
    expect(page.locator("#count")).to_have_text(f"1 customer matching “{token}”", timeout=1000)


def test_the_delete_page_of_its_own_works_with_javascript(logged_in_page: Page, pair, admin: Staff, token: str) -> None:
    """Opened by its address (or from a customer's page), the confirmation has no list row to update: it posts a plain form."""
    page = logged_in_page
    doomed, kept = pair
    page.goto(f"/customers/{doomed.id}/delete?next=%2Fcustomers%3Fq%3D{token}")
    expect(page.get_by_role("heading", name=f"Delete {doomed.name}?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(re.compile(rf"/customers\?q={token}$"))
    expect(page.locator("#messages")).to_contain_text(f"Deleted {doomed.name}")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert get_customer(admin.account_id, doomed.id) is None
    assert get_customer(admin.account_id, kept.id) is not None


def test_the_delete_page_of_its_own_works_for_users_too(logged_in_page: Page, admin: Staff) -> None:
    from sqlalchemy import select

    from app.accounts.models import User
    from app.database.engine import session_scope

    page = logged_in_page
    other = create_user(admin, "staff")
    with session_scope() as session:
        other_id = session.scalar(select(User.id).where(User.email == other.email))
    page.goto(f"/users/{other_id}/delete")
    page.get_by_role("button", name="Delete").click()

    expect(page).to_have_url(re.compile(r"/users$"))
    expect(page.locator("#messages")).to_contain_text(f"Deleted {other.email}")
    with session_scope() as session:
        assert session.get(User, other_id) is None
