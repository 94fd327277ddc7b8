"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database when
TEST_DATABASE_URL names a server. Migrated once per run; tests keep apart by
each using accounts of their own."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import normalise_database_url

# Fixtures shared across the feature folders (tests/customers, tests/accounts, tests/integrations,
# tests/platform, tests/security), each module named for what it serves.
pytest_plugins = [
    "tests.fixtures.browser",  # the browser tests' server, accounts, signed-in pages and customers
    "tests.fixtures.concurrency",  # the multi-worker server, its API clients and page sessions
    "tests.fixtures.openapi",  # the served OpenAPI document
    "tests.fixtures.pages",  # a back-office client signed in over the app
    "tests.fixtures.security",  # accounts with users, signed-in clients, OAuth apps, a single server
]

_TMP = Path(tempfile.mkdtemp(prefix="clientele-tests-"))
_SERVER_URL = os.environ.get("TEST_DATABASE_URL", "")
if _SERVER_URL:
    _server = make_url(normalise_database_url(_SERVER_URL))
    _DB_NAME = f"clientele_test_{os.getpid()}_{secrets.token_hex(3)}"
    DATABASE_URL = _server.set(database=_DB_NAME).render_as_string(hide_password=False)
else:
    DATABASE_URL = f"sqlite:///{_TMP / 'test.db'}"

os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CLIENTELE_VAR_DIR"] = str(_TMP / "var")
os.environ.setdefault("CLIENTELE_SECRET_KEY", secrets.token_urlsafe(32))
# Tests call faster than any client may (20 requests a second): the limit is off
# for the suite, and tests/security turn it on (monkeypatch) to test it.
os.environ.setdefault("CLIENTELE_RATE_LIMIT", "0")


def connect_to_test_database(**kwargs):
    """A psycopg connection of its own to the test database (PostgreSQL), with no server-side prepared
    statements: behind PgBouncer's transaction pooling the next statement may reach another server connection."""
    import psycopg

    url = make_url(DATABASE_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, prepare_threshold=None, **kwargs)


def admin_engine():
    """An engine on the server's administration database (TEST_DATABASE_URL's own), in autocommit."""
    return create_engine(_server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """The migrated test database's URL."""
    from app.database import migrate

    if _SERVER_URL:
        engine = admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{_DB_NAME}"'))
    migrate.upgrade(DATABASE_URL)
    yield DATABASE_URL
    from app.database.engine import get_engine

    get_engine().dispose()
    if _SERVER_URL:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_DB_NAME}" WITH (FORCE)'))
        engine.dispose()


@dataclass
class Shop:
    id: int
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_shop(scopes=("customers",), timezone: str = "Europe/Berlin") -> Shop:
    from app.accounts import service as accounts
    from app.accounts import tokens
    from app.database.engine import session_scope

    name = f"Shop {uuid.uuid4().hex[:10]}"
    with session_scope() as session:
        account, _ = accounts.ensure_account(session, name, timezone)
        token = tokens.issue(session, account.id, scopes)
        return Shop(account.id, name, token)


@pytest.fixture
def shop() -> Shop:
    """A new account with a token holding every customers scope."""
    return make_shop()


@pytest.fixture
def other_shop() -> Shop:
    return make_shop()


@pytest.fixture(scope="session")
def app():
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app):
    from litestar.testing import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium (Playwright cannot download browsers here), headless, as root."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
