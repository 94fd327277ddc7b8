"""The installed `clientele` command, run as an operator runs it, against a SQLite file of its own.

Each command starts a Python process, which is most of this module's time; the
commands that do not depend on each other therefore run side by side once (the
``runs`` fixture), and each test then checks one of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app.accounts import service as accounts
from app.accounts import tokens
from app.customers import service
from app.database.engine import make_engine, session_scope

CLIENTELE = Path(sys.executable).parent / "clientele"
ACCOUNT = "CLI Shop"


@dataclass
class Cli:
    url: str
    env: dict[str, str]
    created_account_output: str = ""

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLIENTELE), *args], input=stdin, env=self.env, capture_output=True, text=True, timeout=60
        )

    def ok(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return result

    def engine(self) -> Engine:
        return make_engine(self.url)


def _cli(tmp: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL",)}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'cli.db'}", CLIENTELE_VAR_DIR=str(tmp / "var"), COLUMNS="80")
    return Cli(env["DATABASE_URL"], env)


def failed_clearly(result: subprocess.CompletedProcess[str]) -> str:
    """A refusal: exit code 1, a message on stderr, no traceback, nothing on stdout."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("Error:"), result.stderr
    assert result.stdout.strip() == ""
    return result.stderr


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Iterator[Cli]:
    """A migrated database holding the account ACCOUNT."""
    assert CLIENTELE.exists(), f"{CLIENTELE} is not installed"
    cli = _cli(tmp_path_factory.mktemp("cli"))
    cli.ok("db", "upgrade")
    cli.created_account_output = cli.ok("accounts", "create", ACCOUNT).stdout
    yield cli


PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def runs(cli, tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every independent command, run at once against the migrated database (or a fresh one)."""
    downgraded = _cli(tmp_path_factory.mktemp("downgrade"))
    unmigrated = _cli(tmp_path_factory.mktemp("unmigrated"))

    def upgrade_then_downgrade():
        downgraded.ok("db", "upgrade")
        return downgraded("db", "downgrade", "base")

    # Commands that write to the shared database run one after another (SQLite has
    # one writer at a time); the ones that only read, or use a database of their
    # own, run beside them.
    writers = {
        "token": lambda: cli("tokens", "create", "--account", ACCOUNT, "--scope", "customers", "--name", "shop-sync"),
        "token-scopes": lambda: cli("tokens", "create", "--account", ACCOUNT, "--scope", "customers:read", "--scope", "customers:update customers:delete"),
        "user": lambda: cli("users", "create", "--account", ACCOUNT, "--email", " Owner@Example.com ", stdin=PASSWORD + "\n"),
        "seed": lambda: cli("seed", "--customers", "50", "--account", ACCOUNT, "--seed", "7"),
    }
    others = {
        "accounts-again": lambda: cli("accounts", "create", ACCOUNT),  # exists already: only reads
        "token-bad-scope": lambda: cli("tokens", "create", "--account", ACCOUNT, "--scope", "customers:write"),
        "token-unknown-account": lambda: cli("tokens", "create", "--account", "No Such Shop", "--scope", "customers"),
        "user-short-password": lambda: cli("users", "create", "--account", ACCOUNT, "--email", "short@example.com", stdin="short\n"),
        "downgrade": upgrade_then_downgrade,
        "unmigrated": lambda: unmigrated("tokens", "create", "--account", ACCOUNT, "--scope", "customers"),
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        serial = pool.submit(lambda: {name: job() for name, job in writers.items()})
        futures = {name: pool.submit(job) for name, job in others.items()}
        results = {name: future.result(timeout=180) for name, future in futures.items()}
        results.update(serial.result(timeout=300))
    results["downgraded-url"] = downgraded.url
    return results


def _scalar(cli: Cli, sql: str, **params):
    engine = cli.engine()
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _row(cli: Cli, sql: str, **params):
    engine = cli.engine()
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(sql), params).one())
    finally:
        engine.dispose()


def test_db_upgrade_creates_the_schema(cli):
    assert _scalar(cli, "SELECT count(*) FROM alembic_version") == 1
    assert _scalar(cli, "SELECT count(*) FROM accounts WHERE name = :n", n=ACCOUNT) == 1


def test_accounts_create_twice_creates_one_account_and_the_second_is_quiet(cli, runs):
    # The fixture created ACCOUNT once, and said so.
    assert ACCOUNT in cli.created_account_output

    again = runs["accounts-again"]

    assert again.returncode == 0, again.stderr
    assert again.stdout == "" and again.stderr == ""
    assert _scalar(cli, "SELECT count(*) FROM accounts WHERE name = :n", n=ACCOUNT) == 1


def _last_line_token(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stdout.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"clt_[A-Za-z0-9_\-]{20,}", last), result.stdout
    return last


def test_tokens_create_prints_the_token_alone_on_the_last_line_and_it_authenticates(cli, runs):
    raw = _last_line_token(runs["token"])

    engine = cli.engine()
    try:
        with session_scope(engine) as session:
            principal = tokens.authenticate(session, raw)
            account = accounts.get_account(session, ACCOUNT)
        assert principal is not None
        assert principal.account_id == account.id
        assert principal.scopes == frozenset({"customers"})
        assert principal.timezone == "Europe/Berlin"
    finally:
        engine.dispose()
    # Only the hash is stored.
    assert _scalar(cli, "SELECT count(*) FROM api_tokens WHERE token_hash = :h", h=tokens.hash_token(raw)) == 1
    assert _scalar(cli, "SELECT count(*) FROM api_tokens WHERE token_hash = :t", t=raw) == 0


def test_tokens_create_with_several_fine_grained_scopes(cli, runs):
    raw = _last_line_token(runs["token-scopes"])

    engine = cli.engine()
    try:
        with session_scope(engine) as session:
            principal = tokens.authenticate(session, raw)
    finally:
        engine.dispose()
    assert principal.scopes == frozenset({"customers:read", "customers:update", "customers:delete"})


def test_tokens_create_with_an_unknown_scope_fails_clearly(cli, runs):
    message = failed_clearly(runs["token-bad-scope"])

    assert "customers:write" in message
    assert "customers:read" in message  # names the scopes that exist
    # Only the two good `tokens create` runs stored a token.
    assert _scalar(cli, "SELECT count(*) FROM api_tokens") == 2


def test_tokens_create_for_an_unknown_account_fails_clearly(runs):
    message = failed_clearly(runs["token-unknown-account"])

    assert "No Such Shop" in message


def test_users_create_reads_the_password_from_stdin(cli, runs):
    result = runs["user"]

    assert result.returncode == 0, result.stderr
    assert "owner@example.com" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    engine = cli.engine()
    try:
        with session_scope(engine) as session:
            user = accounts.authenticate(session, "owner@example.com", PASSWORD)
            assert user is not None
            assert user.role == "admin"
            assert accounts.authenticate(session, "owner@example.com", PASSWORD + "\n") is None
    finally:
        engine.dispose()


def test_users_create_with_a_too_short_password_fails_with_exit_code_1_and_a_clear_message(cli, runs):
    message = failed_clearly(runs["user-short-password"])

    assert "password" in message.lower()
    assert str(accounts.MIN_PASSWORD_LENGTH) in message
    assert _scalar(cli, "SELECT count(*) FROM users WHERE email = 'short@example.com'") == 0


def test_seed_creates_that_many_customers_with_consecutive_numbers(cli, runs):
    result = runs["seed"]

    assert result.returncode == 0, result.stderr
    assert "50" in result.stdout
    account_id = _scalar(cli, "SELECT id FROM accounts WHERE name = :n", n=ACCOUNT)
    assert _scalar(cli, "SELECT count(*) FROM customers WHERE account_id = :a", a=account_id) == 50
    assert _scalar(cli, "SELECT count(DISTINCT account_scoped_id) FROM customers WHERE account_id = :a", a=account_id) == 50
    assert _scalar(cli, "SELECT max(account_scoped_id) FROM customers WHERE account_id = :a", a=account_id) == 50
    assert _scalar(cli, "SELECT customer_seq FROM accounts WHERE id = :a", a=account_id) == 50
    # Every seeded customer has its billing address.
    assert (
        _scalar(cli, "SELECT count(DISTINCT customer_id) FROM addresses WHERE account_id = :a AND kind = 'billing'", a=account_id) == 50
    )
    # The lists see them as the API and the back office do: totals, favourites and search.
    favourites = _scalar(cli, "SELECT count(*) FROM customers WHERE account_id = :a AND is_favourite", a=account_id)
    some_id, some_email = _row(cli, "SELECT id, email FROM customers WHERE account_id = :a ORDER BY id DESC LIMIT 1", a=account_id)
    engine = cli.engine()
    try:
        with session_scope(engine) as session:
            assert service.count(session, account_id).value == 50
            assert service.count(session, account_id, service.Query(favourites=True)).value == favourites
            found = service.page(session, account_id, service.Query(search=some_email))
            assert some_id in {c.id for c in found.items}
    finally:
        engine.dispose()


def test_db_downgrade_base_removes_every_table(runs):
    result = runs["downgrade"]

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    engine = make_engine(runs["downgraded-url"])
    try:
        from sqlalchemy import inspect

        assert {t for t in inspect(engine).get_table_names() if not t.startswith("customers_fts")} <= {"alembic_version"}
    finally:
        engine.dispose()


def test_commands_on_an_unmigrated_database_fail_clearly(runs):
    message = failed_clearly(runs["unmigrated"])

    assert "db upgrade" in message


def test_users_create_succeeds_while_another_process_writes(cli):
    """The command writes in a write transaction from the start (BEGIN IMMEDIATE): it waits
    for the other writer instead of failing on a stale snapshot ('database is locked')."""
    import sqlite3
    import threading
    import time

    stop = threading.Event()
    path = cli.url.removeprefix("sqlite:///")

    def keep_writing():
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            while not stop.is_set():  # holds the write lock most of the time, as a bulk import does
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE accounts SET timezone = timezone WHERE name = ?", (ACCOUNT,))
                stop.wait(0.05)
                conn.execute("COMMIT")
                time.sleep(0.01)
        finally:
            conn.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        results = [
            cli("users", "create", "--account", ACCOUNT, "--email", f"busy{n}@example.com", stdin=PASSWORD + "\n")
            for n in range(2)
        ]
    finally:
        stop.set()
        writer.join(timeout=30)

    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]


def test_seeding_is_not_cut_short_by_the_requests_statement_timeout():
    """PostgreSQL: the bulk load runs without the statement timeout that requests have (storing a
    million customers' postings takes minutes; cut short, it left customers without postings)."""
    from sqlalchemy import create_engine, event, func, select
    from sqlalchemy.orm import Session

    from app.customers import seed
    from app.customers.models import CustomerWord
    from app.database.engine import get_engine
    from tests.conftest import make_shop

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statement timeout")
    shop = make_shop()
    hasty = create_engine(engine.url.render_as_string(hide_password=False))

    @event.listens_for(hasty, "connect")
    def impatient(dbapi_connection, _record) -> None:  # after the dialect's own first queries
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 1")
        dbapi_connection.commit()

    try:
        with Session(hasty) as session:
            assert seed.seed(session, shop.id, 2_000, batch=1_000, rng_seed=3) == 2_000
    finally:
        hasty.dispose()
    with session_scope() as session:
        words = session.scalar(select(func.count()).select_from(CustomerWord).where(CustomerWord.account_id == shop.id))
    assert words and words > 2_000 * 5


def test_the_first_start_prints_the_address_it_serves_on(tmp_path):
    """``clientele run --port P`` printed the default port 8000 in its first-start banner."""
    from tests.server import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'first.db'}", "CLIENTELE_VAR_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [str(CLIENTELE), "run", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Back office:" in line:
                break
        assert f"http://127.0.0.1:{port}/" in lines[-1], lines
    finally:
        process.terminate()
        process.wait(timeout=30)
