"""End-to-end tests: the real app served by uvicorn in a subprocess, driven by
Chromium through Playwright.

One server per test session, on the database that tests/conftest.py created and
migrated (SQLite by default, PostgreSQL with TEST_DATABASE_URL). Tests keep
apart by account: each module gets an account of its own (``admin``), and tests
that need a known set of customers give them a unique word (``token``) and
search for it.
"""

from __future__ import annotations

import os
import random
import re
import string
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.server import serve

E2E_DIR = Path(__file__).resolve().parent
PASSWORD = "correct horse battery"
TIMEZONE = "Europe/Berlin"

expect.set_options(timeout=10_000)


# -- marking -----------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test (``-m "not e2e"`` skips them)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# -- the browser ---------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, server: str) -> dict:
    """Every context opens relative URLs (``page.goto("/customers")``) on the test server."""
    return {**browser_context_args, "base_url": server, "locale": "en-GB", "timezone_id": TIMEZONE}


# -- the server ----------------------------------------------------------------


@pytest.fixture(scope="session")
def server(database: str) -> Iterator[str]:
    """The real app in a uvicorn subprocess, on the migrated test database; its base URL.

    CLIENTELE_TEST_WORKERS=2 serves it from two worker processes, which share
    nothing but the database (sessions, throttling and rate limits live there)."""
    with serve("e2e", workers=int(os.environ.get("CLIENTELE_TEST_WORKERS", "1"))) as base_url:
        yield base_url


# -- accounts and users ----------------------------------------------------------


class Staff(NamedTuple):
    """A signed-in-able user of a fresh account."""

    base_url: str
    email: str
    password: str
    account_id: int
    account_name: str = ""
    role: str = "admin"


def unique_word(length: int = 8) -> str:
    """A word of letters that no other test's data contains: search for it to see only your own rows."""
    rng = random.SystemRandom()
    return rng.choice(string.ascii_uppercase) + "".join(rng.choice(string.ascii_lowercase) for _ in range(length - 1))


def create_account(base_url: str, role: str = "admin") -> Staff:
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    name = f"Shop {unique_word(6)} {uuid.uuid4().hex[:6]}"
    email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
    with session_scope() as session:
        account, _ = accounts.ensure_account(session, name, TIMEZONE)
        accounts.create_user(session, account.id, email, PASSWORD, role=role, name=f"Test {role}")
        return Staff(base_url, email, PASSWORD, account.id, name, role)


def create_user(staff: Staff, role: str) -> Staff:
    """Another user of the same account."""
    from app.accounts import service as accounts
    from app.database.engine import session_scope

    email = f"{role}-{uuid.uuid4().hex[:12]}@example.com"
    with session_scope() as session:
        accounts.create_user(session, staff.account_id, email, PASSWORD, role=role, name=f"Test {role}")
    return staff._replace(email=email, role=role)


@pytest.fixture(scope="module")
def admin(server: str) -> Staff:
    """A fresh account (one per test module) with an admin user: (base_url, email, password, account_id, ...)."""
    return create_account(server, "admin")


@pytest.fixture(scope="module")
def staff(admin: Staff) -> Staff:
    """A user with the staff role in the module's account."""
    return create_user(admin, "staff")


@pytest.fixture
def fresh_admin(server: str) -> Staff:
    """An admin of an account of its own, for a test that needs an account nobody else touches."""
    return create_account(server, "admin")


@pytest.fixture
def token() -> str:
    return unique_word()


# -- signing in ------------------------------------------------------------------


def log_in(page: Page, who: Staff, path: str = "/login") -> None:
    """Sign in through the real login form, as a user would."""
    page.goto(path)
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.fixture(scope="module")
def admin_session(browser: Browser, browser_context_args: dict, admin: Staff) -> dict:
    """The module's admin signed in once through the login form: the browser state (cookies) to start from.

    Signing in costs a password hash check on the server; doing it once per module keeps the suite fast.
    The sign-in tests themselves go through the form every time.
    """
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        log_in(page, admin)
        expect(page).to_have_url(f"{admin.base_url}/customers")
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def logged_in_page(new_context: Callable[..., BrowserContext], admin_session: dict, admin: Staff) -> Page:
    """A page of a new browser context, signed in as the module's admin, on the customers list."""
    page = new_context(storage_state=admin_session).new_page()
    page.goto("/customers")
    expect(page).to_have_url(f"{admin.base_url}/customers")
    return page


@pytest.fixture
def no_js_context(new_context: Callable[..., BrowserContext], admin_session: dict) -> BrowserContext:
    """A browser context without JavaScript, signed in as the module's admin."""
    return new_context(java_script_enabled=False, storage_state=admin_session)


@pytest.fixture
def no_js_page(no_js_context: BrowserContext) -> Page:
    """A page without JavaScript, signed in as the module's admin."""
    return no_js_context.new_page()


# -- customers ---------------------------------------------------------------------

ADDRESS_SHORTHANDS = ("address1", "address2", "zipcode", "city", "state", "country")


class CustomerRef(NamedTuple):
    id: int
    name: str  # as the list shows it


def create_customer(account_id: int, **fields: Any) -> CustomerRef:
    """Create a customer through the app's own form and service.

    Fields are the form's names (``first_name``, ``billing_address-city``);
    ``city``, ``zipcode`` and the other address fields are short for the billing
    address, ``phone_number`` for the first phone number; True and False tick and untick a checkbox.
    """
    from litestar.datastructures import MultiDict

    from app.customers import service
    from app.customers.forms import CustomerForm
    from app.database.engine import session_scope

    items = []
    for name, value in fields.items():
        key = f"billing_address-{name}" if name in ADDRESS_SHORTHANDS else name
        key = "phone_numbers-0-national_number" if name == "phone_number" else key
        if isinstance(value, bool):
            if value:
                items.append((key, "y"))
            continue
        items.append((key, str(value)))
    form = CustomerForm.bind(MultiDict(items), timezone=TIMEZONE)
    assert form.validate(), form.errors
    with session_scope() as session:
        customer = service.create(session, account_id, form.cleaned())
        return CustomerRef(customer.id, customer.display_name)


def create_customers(account_id: int, count: int, word: str = "", **fields: Any) -> list[CustomerRef]:
    """``count`` customers through the app's service, named "<First> <word><nnn>" so that they sort by number."""
    word = word or unique_word()
    firsts = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta")
    return [
        create_customer(account_id, **{"first_name": firsts[i % len(firsts)], "last_name": f"{word}{i:03d}", **fields})
        for i in range(count)
    ]


def seed_customers(account_id: int, count: int, rng_seed: int = 7) -> int:
    """Bulk demo customers with the seed module (realistic names, random order)."""
    from app.customers.seed import seed
    from app.database.engine import session_scope

    with session_scope() as session:
        return seed(session, account_id, count, rng_seed=rng_seed)


def get_customer(account_id: int, customer_id: int):
    from app.customers import service
    from app.database.engine import session_scope

    with session_scope() as session:
        customer = service.get(session, account_id, customer_id)
        if customer is not None:
            list(customer.addresses)  # loaded now, read after the session ends
            session.expunge(customer)
        return customer


@pytest.fixture
def add_customer(admin: Staff) -> Callable[..., CustomerRef]:
    """Create a customer in the module's account: ``add_customer(first_name="Ada", last_name="Lovelace")``."""

    def add(**fields: Any) -> CustomerRef:
        return create_customer(admin.account_id, **fields)

    return add


# -- small page helpers ------------------------------------------------------------


def row(page: Page, customer: CustomerRef | int, resource: str = "customers"):
    """The list row of one item."""
    item_id = customer if isinstance(customer, int) else customer.id
    return page.locator(f"#{resource}-{item_id}")


def section(page: Page, title: str):
    """One titled section of the full edit page ("Person", "Contact", "Billing address" ...)."""
    return page.locator("section.form-section", has=page.get_by_role("heading", name=title, exact=True))


def mark_page(page: Page) -> None:
    """Tag the current document; ``assert_same_document`` then proves no full page load happened."""
    page.evaluate("window.__e2e_marker = 'still here'")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__e2e_marker") == "still here", "the page was loaded again"


def search_for(page: Page, text: str) -> None:
    """Type into the search field as a user does and wait for the debounced update."""
    field = page.get_by_label("Search", exact=True)
    field.click()
    field.press("Control+a")  # typing replaces what was there
    with page.expect_response(lambda r: "/customers?" in r.url and r.request.headers.get("hx-request") == "true"):
        field.press_sequentially(text)
