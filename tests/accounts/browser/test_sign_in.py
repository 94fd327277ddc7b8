"""Signing in and out of the back office."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Staff, log_in

pytestmark = pytest.mark.e2e


def test_sign_in_with_the_right_password_lands_on_customers(page: Page, admin: Staff) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{admin.base_url}/customers")
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(admin.account_name)


def test_sign_in_with_a_wrong_password_shows_one_clear_message(page: Page, admin: Staff) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_have_text("Email or password is wrong.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    # The email stays typed in; the password does not.
    expect(page.get_by_label("Email")).to_have_value(admin.email)
    expect(page.get_by_label("Password")).to_have_value("")

    # The right password then works.
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{admin.base_url}/customers")


def test_an_unknown_email_gets_the_same_message(page: Page, admin: Staff) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill("nobody-at-all@example.com")
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_visiting_customers_signed_out_asks_to_sign_in_and_returns_there(page: Page, admin: Staff) -> None:
    page.goto("/customers?q=Smith")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{admin.base_url}/customers?q=Smith")
    expect(page.get_by_label("Search", exact=True)).to_have_value("Smith")


def test_log_out_ends_the_session(page: Page, admin: Staff) -> None:
    log_in(page, admin)
    page.get_by_role("button", name="Log out", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fcustomers$"))


def test_logging_out_removes_the_session_cookie_from_the_browser(page: Page, admin: Staff) -> None:
    for button in ("Log out", "Log out everywhere"):
        log_in(page, admin)
        assert [c for c in page.context.cookies() if c["name"] == "clientele_session"]
        page.get_by_role("button", name=button, exact=True).click()
        expect(page).to_have_url(re.compile(r"/login$"))

        assert [c for c in page.context.cookies() if c["name"] == "clientele_session"] == [], button
