"""Migrations go down to nothing and back up, and leave exactly the schema the models describe.

They run in a database of their own, never in the one the other tests share:
a new SQLite file, or a new PostgreSQL database on the TEST_DATABASE_URL server.
"""

from __future__ import annotations

import ast
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.config import normalise_database_url
from app.database import migrate
from app.database.engine import make_engine
from app.database.models import Base
from app.shared.package_data import package_data


def _replicated_include_object(obj, name, type_, reflected, compare_to) -> bool:
    """As migrations/env.py: the full-text search tables are managed by hand."""
    return not (type_ == "table" and name and name.startswith("customers_fts"))


def _env_include_object():
    """migrations/env.py's own filter, lifted out of its source (the module runs
    Alembic on import, so it cannot be imported); the replica if that fails."""
    source = (package_data("migrations") / "env.py").read_text()
    tree = ast.parse(source)
    wanted = [
        node
        for node in tree.body
        if (isinstance(node, ast.FunctionDef) and node.name == "include_object")
        or (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets))
    ]
    if not any(isinstance(n, ast.FunctionDef) for n in wanted):
        return _replicated_include_object
    namespace: dict = {}
    try:
        exec(compile(ast.Module(body=wanted, type_ignores=[]), "migrations/env.py", "exec"), namespace)  # noqa: S102 - our own migrations/env.py
    except Exception:  # noqa: BLE001 - any failure: fall back to the replica
        return _replicated_include_object
    return namespace["include_object"]


include_object = _env_include_object()


def test_the_env_filter_ignores_the_full_text_search_tables():
    assert include_object(None, "customers_fts", "table", True, None) is False
    assert include_object(None, "customers_fts_data", "table", True, None) is False
    assert include_object(None, "customers", "table", True, None) is True


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not server:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server_url = make_url(normalise_database_url(server))
    name = f"clientele_migrations_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object, "target_metadata": Base.metadata}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {t for t in inspect(engine).get_table_names() if not t.startswith("customers_fts")}
    finally:
        engine.dispose()


def _current(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config())


def test_there_is_a_single_head():
    assert len(_script().get_heads()) == 1


def test_upgrade_to_head_matches_the_models_down_to_base_removes_all_and_up_again(fresh_database_url):
    url = fresh_database_url
    head = set(_script().get_heads())
    model_tables = set(Base.metadata.tables)

    migrate.upgrade(url)
    assert _current(url) == head
    assert model_tables <= _tables(url)
    assert _differences(url) == []

    migrate.downgrade("base", url)
    assert _current(url) == set()
    assert _tables(url) <= {"alembic_version"}
    # The comparison sees a missing schema, so its silence above means something.
    assert {d[1].name for d in _differences(url) if d[0] == "add_table"} == model_tables

    migrate.upgrade(url)
    assert _current(url) == head
    assert _differences(url) == []


def test_each_revision_upgrades_and_downgrades_one_step_at_a_time(fresh_database_url):
    url = fresh_database_url
    revisions = [r.revision for r in reversed(list(_script().walk_revisions()))]  # base first

    for revision in revisions:
        migrate.upgrade(url, revision)
        assert _current(url) == {revision}
    for previous in reversed([None, *revisions[:-1]]):
        migrate.downgrade(previous or "base", url)
        assert _current(url) == ({previous} if previous else set())
    assert _tables(url) <= {"alembic_version"}


def test_migrations_leave_data_in_place_when_upgraded_again(fresh_database_url):
    """Upgrading a database that is already at head changes nothing and keeps its rows."""
    url = fresh_database_url
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO accounts (name, timezone, customer_seq, created_at) VALUES ('Kept', 'Europe/Berlin', 0, CURRENT_TIMESTAMP)")
            )
        migrate.upgrade(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM accounts")).scalars().all() == ["Kept"]
    finally:
        engine.dispose()


def test_0008_keeps_every_row_and_its_id_and_ends_the_sessions(fresh_database_url):
    """The rebuild to AUTOINCREMENT (SQLite) keeps rows and ids, with foreign keys off so nothing
    cascades; the sessions of before, which hold neither account nor epoch, are gone."""
    url = fresh_database_url
    migrate.upgrade(url, "0007")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO accounts (id, name, timezone, customer_seq, created_at) VALUES (7, 'Kept', 'UTC', 0, CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO users (id, account_id, email, name, password_hash, role, created_at) "
                              "VALUES (41, 7, 'a@example.com', '', 'x', 'admin', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO api_tokens (id, account_id, name, token_hash, prefix, scopes, created_at) "
                              "VALUES (5, 7, '', 'h', 'clt_', 'customers', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO web_sessions (key, value) VALUES ('sessions:old', '{\"user_id\": 41}')"))
        migrate.upgrade(url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT id, account_id, email, session_epoch FROM users")).all() == [(41, 7, "a@example.com", 0)]
            assert conn.execute(text("SELECT id FROM api_tokens WHERE account_id = 7")).scalars().all() == [5]
            assert conn.execute(text("SELECT count(*) FROM web_sessions")).scalar() == 0
            conn.execute(text("DELETE FROM users WHERE id = 41"))
            new_id = conn.execute(text("INSERT INTO users (account_id, email, name, password_hash, role, session_epoch, created_at) "
                                       "VALUES (7, 'b@example.com', '', 'x', 'admin', 0, CURRENT_TIMESTAMP) RETURNING id")).scalar()
        assert new_id != 41
    finally:
        engine.dispose()


def test_0012_numbers_the_events_there_are_per_account_and_gives_every_customer_a_create(fresh_database_url):
    """Events there are get their number in their account in id order (they have all committed);
    a customer without any event (seeded in bulk, or from before the history) gets a create event,
    so that the changes feed read from its start names every customer."""
    url = fresh_database_url
    migrate.upgrade(url, "0009")
    engine = make_engine(url)
    customer = (
        "INSERT INTO customers (id, account_id, account_scoped_id, title, first_name, last_name, company, email, phone_number, "
        "phone_type, country_code, note, tax_number, channel, email_marketing_agreed, is_b2b, is_favourite, is_vip, is_confirmed, "
        "created_at, updated_at, version, sort_name, search_text, city) VALUES (:id, :account, :id, '', 'A', 'B', '', '', '', 'normal', "
        "'', '', '', 1, false, false, false, false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 'b a', 'a b', '')"
    )
    event = (
        "INSERT INTO customer_events (account_id, customer_id, at, action, actor_kind, actor_id, actor_label, changes) "
        "VALUES (:account, :customer, CURRENT_TIMESTAMP, :action, 'system', NULL, 'system', '{}')"
    )
    try:
        with engine.begin() as conn:
            for account in (1, 2):
                conn.execute(text(f"INSERT INTO accounts (id, name, timezone, customer_seq, created_at) VALUES ({account}, 'A{account}', 'UTC', 0, CURRENT_TIMESTAMP)"))
            for id_, account in ((10, 1), (11, 1), (12, 2)):
                conn.execute(text(customer), {"id": id_, "account": account})
            for account, customer_id, action in ((1, 10, "create"), (2, 12, "create"), (1, 10, "update"), (1, 99, "delete")):
                conn.execute(text(event), {"account": account, "customer": customer_id, "action": action})
        migrate.upgrade(url)
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT account_id, seq, customer_id, action FROM customer_events ORDER BY account_id, seq")).all()
            assert [tuple(r) for r in rows] == [(1, 1, 10, "create"), (1, 2, 10, "update"), (1, 3, 99, "delete"), (1, 4, 11, "create"), (2, 1, 12, "create")]
            assert conn.execute(text("SELECT id, change_seq FROM accounts ORDER BY id")).all() == [(1, 4), (2, 1)]
    finally:
        engine.dispose()
