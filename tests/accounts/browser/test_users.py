"""The account's users (admins only), on the same generic screens as customers."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import PASSWORD, Staff, create_user, log_in, row

pytestmark = pytest.mark.e2e


def user_id(page: Page, email: str) -> int:
    row_id = page.locator("#results tbody tr", has=page.get_by_role("link", name=email, exact=True)).get_attribute("id")
    return int(row_id.rsplit("-", 1)[1])


def test_admin_lists_creates_edits_and_deletes_a_user(logged_in_page: Page, admin: Staff) -> None:
    page = logged_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(r"/users$"))
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=admin.email, exact=True)).to_be_visible()

    # Create, first with a password too short.
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_role("link", name="New user").click()
    expect(page.get_by_role("heading", name="New user", level=1)).to_be_visible()
    page.get_by_label("Email").fill(email.upper())
    page.get_by_label("Name").fill("Nina Neu")
    page.get_by_label("Role").select_option("staff")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#password-error")).to_have_text("At least 10 characters.")
    expect(page.get_by_label("Name")).to_have_value("Nina Neu")

    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#messages")).to_have_text(f"Created {email}.")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td[data-label='Name']")).to_have_text("Nina Neu")
    expect(rows.locator("td[data-label='Role']")).to_have_text("staff")
    new_id = user_id(page, email)

    # Edit: the Edit button opens the full form (users have no inline fields).
    row(page, new_id, "users").get_by_role("link", name=f"Edit {email}").click()
    expect(page).to_have_url(re.compile(rf"/users/{new_id}/edit$"))
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Password")).to_have_value("")
    page.get_by_label("Name").fill("Nina Neumann")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Save", exact=True).click()
    # Back on the list as it was: the search for the new user that the create led to.
    expect(page).to_have_url(re.compile(r"/users\?q=new-[0-9a-f]+%40example\.com$"))
    expect(page.locator("#messages")).to_have_text(f"Saved {email}.")
    expect(row(page, new_id, "users").locator("td[data-label='Name']")).to_have_text("Nina Neumann")
    expect(row(page, new_id, "users").locator("td[data-label='Role']")).to_have_text("admin")

    # Delete, with confirmation.
    row(page, new_id, "users").get_by_role("link", name=f"Delete {email}").click()
    dialog = page.get_by_role("dialog", name=f"Delete {email}?")
    expect(dialog).to_contain_text(f"This removes the user {email}.")
    dialog.get_by_role("link", name="Cancel").click()
    expect(row(page, new_id, "users")).to_be_visible()

    row(page, new_id, "users").get_by_role("link", name=f"Delete {email}").click()
    page.get_by_role("dialog", name=f"Delete {email}?").get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text(f"Deleted {email}")
    expect(row(page, new_id, "users")).to_be_hidden()
    page.reload()
    expect(page.get_by_role("link", name=email, exact=True)).to_have_count(0)


def test_a_taken_email_is_refused_next_to_the_field(logged_in_page: Page, admin: Staff) -> None:
    page = logged_in_page
    page.goto("/users/new")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#email-error")).to_have_text(f"A user with the email {admin.email} exists already.")


def test_an_admin_is_not_offered_to_delete_themselves(logged_in_page: Page, admin: Staff) -> None:
    page = logged_in_page
    other = create_user(admin, "staff")
    page.goto("/users")
    me = user_id(page, admin.email)
    expect(row(page, user_id(page, other.email), "users").get_by_role("link", name=f"Delete {other.email}")).to_be_visible()
    expect(row(page, me, "users").get_by_role("link", name=f"Edit {admin.email}")).to_be_visible()
    expect(row(page, me, "users").get_by_role("link", name=re.compile("^Delete"))).to_have_count(0)

    # Nor on one's own page, and the confirmation opened by its address refuses.
    row(page, me, "users").get_by_role("link", name=admin.email, exact=True).click()
    expect(page.get_by_role("heading", name=admin.email, level=1, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    response = page.goto(f"/users/{me}/delete")
    assert response is not None and response.status == 403
    expect(page.get_by_text("You cannot delete yourself.")).to_be_visible()
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)


def test_staff_cannot_see_or_open_users(page: Page, staff_user: Staff) -> None:
    log_in(page, staff_user)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)

    response = page.goto("/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Your role does not allow this.")).to_be_visible()


def test_a_new_user_can_sign_in(logged_in_page: Page, admin: Staff, new_context) -> None:
    page = logged_in_page
    email = f"fresh-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/users/new")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role").select_option("staff")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#messages")).to_have_text(f"Created {email}.")

    other = new_context().new_page()
    log_in(other, admin._replace(email=email))
    expect(other).to_have_url(re.compile(r"/customers$"))
    expect(other.get_by_role("banner")).to_contain_text(admin.account_name)
