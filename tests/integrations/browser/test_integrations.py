"""Revoking an OAuth app or one of its grants asks first: a dialog with JavaScript, a page without."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import Staff

pytestmark = pytest.mark.e2e


def make_app(admin: Staff) -> tuple[int, str, str, str]:
    from app.database.engine import session_scope
    from app.integrations import service

    name = f"Sync {uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        new = service.create_app(session, admin.account_id, name, ["customers"])
        return new.app.id, name, new.app.client_id, new.client_secret


def app_row(page: Page, app_id: int):
    return page.locator(f"#app-{app_id}")


def test_revoking_an_app_opens_a_dialog_and_cancel_keeps_it(logged_in_page: Page, admin: Staff) -> None:
    page = logged_in_page
    app_id, name, _, _ = make_app(admin)
    page.goto("/integrations")
    app_row(page, app_id).get_by_role("link", name=f"Revoke {name}").click()

    dialog = page.get_by_role("dialog", name=f"Revoke {name}?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("loses its access now")
    expect(dialog.get_by_role("link", name="Cancel")).to_be_focused()
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(app_row(page, app_id)).to_contain_text("Active")

    app_row(page, app_id).get_by_role("link", name=f"Revoke {name}").click()
    page.get_by_role("dialog", name=f"Revoke {name}?").get_by_role("button", name="Revoke").click()
    expect(page.locator("#messages")).to_contain_text(f"Revoked {name}")
    expect(app_row(page, app_id)).to_contain_text("Revoked")


def test_revoking_an_app_without_javascript_uses_a_confirmation_page(no_js_page: Page, admin: Staff) -> None:
    page = no_js_page
    app_id, name, _, _ = make_app(admin)
    page.goto(f"/integrations/{app_id}")
    page.get_by_role("link", name="Revoke this app").click()
    expect(page).to_have_url(re.compile(rf"/integrations/{app_id}/revoke\?next="))
    expect(page.get_by_role("heading", name=f"Revoke {name}?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"/integrations/{app_id}$"))
    expect(page.get_by_text("Active", exact=True)).to_be_visible()

    page.get_by_role("link", name="Revoke this app").click()
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#messages")).to_contain_text(f"Revoked {name}")
    expect(app_row(page, app_id)).to_contain_text("Revoked")


def test_revoking_a_grant_asks_first(logged_in_page: Page, admin: Staff) -> None:
    page = logged_in_page
    app_id, _, client_id, secret = make_app(admin)
    token = httpx.post(f"{admin.base_url}/api/auth/token/", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert token.status_code == 200, token.text
    page.goto(f"/integrations/{app_id}")
    grants = page.locator("#grants tbody tr")
    expect(grants).to_have_count(1)

    grants.get_by_role("link", name=re.compile("^Revoke the grant")).click()
    dialog = page.get_by_role("dialog", name=re.compile("^Revoke this grant"))
    expect(dialog).to_contain_text("its access and refresh tokens stop working at once")
    dialog.get_by_role("link", name="Cancel").click()
    expect(grants).to_have_count(1)

    grants.get_by_role("link", name=re.compile("^Revoke the grant")).click()
    page.get_by_role("dialog", name=re.compile("^Revoke this grant")).get_by_role("button", name="Revoke").click()
    expect(page.locator("#messages")).to_contain_text("Revoked the grant")
    expect(page.locator("#grants")).to_have_count(0)
    expect(page.get_by_text("No live grants.")).to_be_visible()
