"""XSS, checked in a real browser: customer, user and app fields holding script
and HTML payloads are shown as text on every page (list, row edit, full edit,
delete dialog, history, print; users; integrations), nothing they contain runs
or becomes an element, and our own pages raise no Content-Security-Policy
violation (so a violation would mean an injection got through the escaping).
Swagger UI works under its policy."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.security import PASSWORD, make_account, make_app

pytestmark = pytest.mark.e2e

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=2">'
SVG = "<svg/onload=window.__xss=3>"
ATTR = "' onmouseover='window.__xss=4' x='"
BOLD = "<b id=xss>bold</b>"
TEMPLATE = "{{7*7}}${7*7}"
INJECTED = "img[src='x'], svg, b#xss, [onmouseover], [onerror], [onload]"


def _letters(count: int = 8) -> str:
    """A word of its own to search for, without digits (a digit could read as the 49 of {{7*7}})."""
    return "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:count])


class Watch:
    """Console messages about the Content-Security-Policy, and page errors."""

    def __init__(self, page: Page) -> None:
        self.violations: list[str] = []
        page.on("console", lambda msg: self.violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.on("pageerror", lambda exc: self.violations.append(f"page error: {exc}"))


def assert_inert(page: Page, where: str) -> None:
    assert page.evaluate("window.__xss") is None, f"{where}: a payload ran"
    injected = page.locator(f"main {INJECTED}, dialog {INJECTED}")
    assert injected.count() == 0, f"{where}: a payload became an element: {injected.first.evaluate('e => e.outerHTML')}"


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/customers"))


@pytest.fixture
def watched(page: Page) -> tuple[Page, Watch]:
    return page, Watch(page)


def test_customer_fields_are_text_on_every_page(live_server, watched, client):
    page, watch = watched
    account = make_account()
    word = "Xss" + _letters()
    fields = {
        "first_name": IMG,
        "last_name": f"{word} {SCRIPT}",
        "company": SVG + BOLD,
        "note": ATTR + TEMPLATE + SCRIPT,
        "billing_address": {"city": BOLD, "address1": ATTR},
    }
    created = client.post("/api/customers/", json=fields, headers=account.bearer)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    log_in(page, live_server, account.admin_email)

    # The list, found by search.
    page.goto(f"{live_server}/customers?q={word}")
    row = page.locator(f"#customers-{customer_id}")
    expect(row).to_be_visible()
    text = row.inner_text()
    for payload in (IMG, SCRIPT, SVG + BOLD):
        assert payload in text, (payload, text)
    assert "49" not in text
    assert_inert(page, "list")

    # Search as you type (htmx swaps the results in).
    search = page.get_by_label("Search", exact=True)
    search.fill("")
    with page.expect_response(lambda r: f"q={word}" in r.url and r.request.headers.get("hx-request") == "true"):
        search.press_sequentially(word)
    expect(page.locator(f"#customers-{customer_id}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert_inert(page, "list after search")

    # Row edit (htmx).
    with page.expect_response(lambda r: r.url.endswith(f"/customers/{customer_id}/row/edit")):
        page.locator(f"#customers-{customer_id}").get_by_role("link", name=re.compile("^Edit")).click()
    editing = page.locator(f"#customers-{customer_id} form.inline-edit")
    expect(editing).to_be_visible()
    values = [editing.locator("input[type=text], input:not([type])").nth(i).input_value() for i in range(editing.locator("input[type=text], input:not([type])").count())]
    assert IMG in values and f"{word} {SCRIPT}" in values, values
    assert_inert(page, "row edit")

    # Full edit.
    page.goto(f"{live_server}/customers/{customer_id}/edit")
    expect(page.locator("#first_name")).to_have_value(IMG)
    expect(page.locator("#last_name")).to_have_value(f"{word} {SCRIPT}")
    expect(page.locator("#company")).to_have_value(SVG + BOLD)
    expect(page.locator("#note")).to_have_value(ATTR + TEMPLATE + SCRIPT)
    expect(page.locator("[id='billing_address-city']")).to_have_value(BOLD)
    expect(page.get_by_role("heading", level=1)).to_contain_text(SCRIPT)
    assert_inert(page, "full edit")

    # Delete dialog (htmx) and page.
    page.goto(f"{live_server}/customers?q={word}")
    page.locator(f"#customers-{customer_id}").get_by_role("link", name=re.compile("^Delete")).click()
    expect(page.locator("#dialog")).to_contain_text(SCRIPT)
    assert_inert(page, "delete dialog")
    page.goto(f"{live_server}/customers/{customer_id}/delete")
    expect(page.locator("main")).to_contain_text(IMG)
    assert_inert(page, "delete page")

    # History, where the app has it.
    response = page.goto(f"{live_server}/customers/{customer_id}/history")
    if response.status == 200:
        assert_inert(page, "history")

    # Print.
    page.goto(f"{live_server}/customers/print?q={word}")
    body = page.locator("body").inner_text()
    for payload in (IMG, SCRIPT, SVG + BOLD):
        assert payload in body, payload
    assert_inert(page, "print")

    assert watch.violations == []


def test_user_and_app_names_are_text_on_the_admin_pages(live_server, watched):
    from sqlalchemy import select

    from app.accounts import service as accounts
    from app.accounts.models import User
    from app.database.engine import session_scope

    page, watch = watched
    account = make_account()
    word = "Usr" + _letters()
    with session_scope() as session:
        accounts.create_user(session, account.id, f"{word.lower()}@example.com", PASSWORD, role="staff", name=f"{word} {SCRIPT}{IMG}")
        user_id = session.scalar(select(User.id).where(User.email == f"{word.lower()}@example.com"))
    app = make_app(account.id, name=f"App {SVG}{BOLD}{SCRIPT}")
    log_in(page, live_server, account.admin_email)

    page.goto(f"{live_server}/users?q={word}")
    expect(page.locator(f"#users-{user_id}")).to_contain_text(f"{word} {SCRIPT}{IMG}")
    assert_inert(page, "users list")
    page.goto(f"{live_server}/users/{user_id}/edit")
    expect(page.locator("#name")).to_have_value(f"{word} {SCRIPT}{IMG}")
    assert_inert(page, "user edit")

    page.goto(f"{live_server}/integrations")
    expect(page.locator(f"#app-{app.id}")).to_contain_text(f"App {SVG}{BOLD}{SCRIPT}")
    assert_inert(page, "integrations list")
    page.goto(f"{live_server}/integrations/{app.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"App {SVG}{BOLD}{SCRIPT}")
    assert_inert(page, "integration detail")

    # Created through the form: the page that shows the secret once.
    page.goto(f"{live_server}/integrations")
    page.get_by_label("Name").fill(f"Form {IMG}")
    page.get_by_label("customers:read").check()
    page.get_by_role("button", name="Create app").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Created Form {IMG}")
    secret = page.locator("#client-secret").inner_text()
    assert secret.startswith("cls_") and len(secret) > 40
    assert_inert(page, "app created")
    # The secret is shown once: neither the list nor the detail page has it.
    page.goto(f"{live_server}/integrations")
    assert secret not in page.content()

    assert watch.violations == []


def test_swagger_ui_works_under_its_content_security_policy(live_server, watched):
    page, watch = watched

    response = page.goto(f"{live_server}/schema/swagger")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Clientele API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/auth/token", exact=False).first).to_be_visible()
    assert watch.violations == []


def test_the_back_office_runs_htmx_without_policy_violations(live_server, watched):
    page, watch = watched
    account = make_account()
    log_in(page, live_server, account.admin_email)

    for path in ("/customers", "/customers/new", "/users", "/integrations"):
        page.goto(f"{live_server}{path}")
        expect(page.locator("main")).to_be_visible()
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.locator("style").count() == 0  # htmx injected none
    assert watch.violations == []
