"""Undo right after every delete, and the trash as a list (count, search, pages, bulk restore),
with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.customers.trash import RETENTION_DAYS
from tests.fixtures.browser import Staff, create_customers, get_customer, row, search_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_undo_right_after_a_single_delete(request, javascript: bool, admin: Staff, token: str) -> None:
    page: Page = request.getfixturevalue("logged_in_page" if javascript else "no_js_page")
    doomed, kept = create_customers(admin.account_id, 2, token)
    page.goto(f"/customers?q={token}")
    row(page, doomed).get_by_role("link", name=f"Delete {doomed.name}").click()
    if javascript:
        dialog = page.get_by_role("dialog", name=f"Delete {doomed.name}?")
        expect(dialog).to_contain_text(f"restored for {RETENTION_DAYS} days")
        dialog.get_by_role("button", name="Delete").click()
        expect(row(page, doomed)).to_be_hidden()
    else:
        expect(page.locator("main")).to_contain_text(f"restored for {RETENTION_DAYS} days")
        page.get_by_role("button", name="Delete").click()
    messages = page.locator("#messages")
    expect(messages).to_contain_text(f"Deleted {doomed.name}. It is in the trash for {RETENTION_DAYS} days.")
    assert get_customer(admin.account_id, doomed.id) is None

    messages.get_by_role("button", name="Undo").click()
    expect(page.locator("#messages")).to_contain_text(f"Restored {doomed.name}.")
    expect(row(page, doomed)).to_be_visible()
    assert get_customer(admin.account_id, doomed.id) is not None
    assert get_customer(admin.account_id, kept.id) is not None


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_undo_right_after_a_bulk_delete(request, javascript: bool, admin: Staff, token: str) -> None:
    page: Page = request.getfixturevalue("logged_in_page" if javascript else "no_js_page")
    doomed = create_customers(admin.account_id, 3, token)
    page.goto(f"/customers?q={token}")
    for customer in doomed[:2]:
        page.get_by_label(f"Select {customer.name}").check()
    page.locator("#bulk").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete 2 customers?")).to_be_visible()
    page.get_by_role("button", name="Delete 2").click()

    messages = page.locator("#messages")
    expect(messages).to_contain_text(f"Deleted 2 customers. They are in the trash for {RETENTION_DAYS} days.")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert all(get_customer(admin.account_id, c.id) is None for c in doomed[:2])

    messages.get_by_role("button", name="Undo").click()
    expect(page.locator("#messages")).to_contain_text("Restored 2 customers.")
    expect(page).to_have_url(re.compile(rf"/customers\?q={token}"))
    expect(page.locator("#results tbody tr")).to_have_count(3)
    assert all(get_customer(admin.account_id, c.id) is not None for c in doomed)


def test_the_trash_is_a_list_with_count_search_pages_and_bulk_restore(logged_in_page: Page, admin: Staff, token: str) -> None:
    from app.customers import service
    from app.database.engine import session_scope

    page = logged_in_page
    customers = create_customers(admin.account_id, 35, token)
    others = create_customers(admin.account_id, 2)
    with session_scope() as session:
        service.bulk(session, admin.account_id, [c.id for c in customers + others], "delete")

    page.get_by_role("link", name="Trash").click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    search_field = page.get_by_label("Search", exact=True)
    search_field.click()
    with page.expect_response(lambda r: "/customers/trash?" in r.url and r.request.headers.get("hx-request") == "true"):
        search_field.press_sequentially(token)
    expect(page.locator("#count")).to_have_text(f"35 customers in the trash matching “{token}”")
    expect(page).to_have_url(re.compile(rf"/customers/trash\?q={token}"))
    expect(page.locator("#results tbody tr")).to_have_count(30)

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next →").click()
    expect(page.locator("#results tbody tr")).to_have_count(5)
    first_restored, second_restored = customers[0], customers[1]  # the oldest: newest come first
    page.get_by_label(f"Select {first_restored.name}").check()
    page.get_by_label(f"Select {second_restored.name}").check()
    page.locator("#bulk").get_by_role("button", name="Restore").click()

    expect(page.locator("#messages")).to_contain_text("Restored 2 customers.")
    expect(page.locator("#count")).to_have_text(f"33 customers in the trash matching “{token}”")
    assert get_customer(admin.account_id, first_restored.id) is not None
    assert get_customer(admin.account_id, customers[2].id) is None

    page.get_by_label("all 33 matching").check()
    page.locator("#bulk").get_by_role("button", name="Restore").click()
    expect(page.locator("#messages")).to_contain_text("Restored 33 customers.")
    expect(page.locator("#results")).to_contain_text(f"No deleted customers match “{token}”")
    assert all(get_customer(admin.account_id, c.id) is not None for c in customers)
    assert all(get_customer(admin.account_id, c.id) is None for c in others)


def test_the_trash_works_without_javascript(no_js_page: Page, admin: Staff, token: str) -> None:
    from app.customers import service
    from app.database.engine import session_scope

    page = no_js_page
    customers = create_customers(admin.account_id, 2, token)
    with session_scope() as session:
        service.bulk(session, admin.account_id, [c.id for c in customers], "delete")
    page.goto("/customers/trash")
    page.get_by_label("Search", exact=True).fill(token)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/customers/trash\?q={token}"))
    expect(page.locator("#results tbody tr")).to_have_count(2)
    page.get_by_role("button", name=f"Restore {customers[0].name}").click()
    expect(page.locator("#messages")).to_contain_text(f"Restored {customers[0].name}.")
    assert get_customer(admin.account_id, customers[0].id) is not None
    assert get_customer(admin.account_id, customers[1].id) is None


def test_an_emptied_list_points_to_the_trash(new_context, fresh_admin: Staff) -> None:
    from tests.fixtures.browser import log_in

    page = new_context().new_page()
    log_in(page, fresh_admin)
    (only,) = create_customers(fresh_admin.account_id, 1)
    page.goto("/customers")
    search_for(page, only.name.split()[-1])
    row(page, only).get_by_role("link", name=f"Delete {only.name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(row(page, only)).to_be_hidden()
    page.goto("/customers")
    expect(page.locator(".empty")).to_contain_text("1 customer is in the trash")
    page.get_by_role("link", name="restore from the trash").click()
    expect(page.locator("#trash-" + str(only.id))).to_be_visible()
