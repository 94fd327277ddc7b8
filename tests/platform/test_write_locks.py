"""A write lock (SQLite) or a row read for update (PostgreSQL) is never held longer than the
change needs, and a connection checkout on SQLite never waits (the read-only views check out
on the event loop, which also closes the sessions that would give connections back)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text

from app.customers import service
from app.database.engine import get_engine, released_on_error, session_factory, session_scope
from tests.conftest import make_shop


def test_reading_a_missing_customer_for_update_holds_nothing():
    shop = make_shop()
    with session_factory()() as session:
        assert service.get_for_update(session, shop.id, 2_000_000_000) is None
        assert not session.in_transaction()


def test_an_error_in_the_block_ends_the_write_transaction_at_once():
    shop = make_shop()
    with session_scope() as session:
        customer = service.create(session, shop.id, {"first_name": "Ada", "last_name": "Lovelace"})
    with session_factory()() as session:
        assert service.get_for_update(session, shop.id, customer.id) is not None
        assert session.in_transaction()
        with pytest.raises(ValueError), released_on_error(session):
            raise ValueError("refused")
        assert not session.in_transaction()
        # Another writer gets in straight away (SQLite: no wait on the busy timeout).
        with get_engine().connect() as other:
            if other.dialect.name == "sqlite":
                other.connection.dbapi_connection.execute("PRAGMA busy_timeout = 0").close()
            with other.begin():
                other.execute(text("UPDATE customers SET company = 'B' WHERE id = :id"), {"id": customer.id})


def test_sqlite_hands_out_connections_without_waiting():
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        pytest.skip("the SQLite pool; PostgreSQL's read-only views check out in worker threads")
    held, done = [], threading.Event()

    def check_out() -> None:
        held.extend(engine.connect() for _ in range(60))  # more than any fixed pool would hold
        done.set()

    worker = threading.Thread(target=check_out, daemon=True)
    worker.start()
    try:
        assert done.wait(10), "a checkout waited for a connection"
        assert len(held) == 60
    finally:
        worker.join(30)
        for conn in held:
            conn.close()


def test_two_changes_adding_the_same_new_word_queue_rather_than_deadlock():
    """A change adds its customer's new words to the account's words (``search_words``) only under the
    account's row lock. Here a save reaches that lock just as a create holds it, and both bring the same
    new word: taken the other way round (the save's words first), PostgreSQL found a deadlock and one of
    them answered 503."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers queue at BEGIN (IMMEDIATE): one writer at a time")
    shop = make_shop()
    with session_scope() as session:
        customer = service.create(session, shop.id, {"first_name": "Ada", "last_name": "Lovelace"})
    saving_at_lock, create_holds_lock = threading.Event(), threading.Event()
    saver, errors = threading.current_thread(), []

    def locking(statement: str) -> bool:
        return statement.lstrip().upper().startswith("UPDATE ACCOUNTS")

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        if locking(statement) and threading.current_thread() is saver:
            saving_at_lock.set()
            create_holds_lock.wait(5)

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        if locking(statement) and threading.current_thread() is not saver:
            create_holds_lock.set()

    def create() -> None:
        saving_at_lock.wait(5)
        try:
            with session_scope() as session:
                service.create(session, shop.id, {"first_name": "Quaxwort", "last_name": "Brill"})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    creator = threading.Thread(target=create)
    creator.start()
    try:
        with session_scope() as session:
            held = service.get_for_update(session, shop.id, customer.id)
            assert held is not None
            service.update_customer(session, held, {"first_name": "Quaxwort"})
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        creator.join(30)
    assert not errors
    with session_scope() as session:
        found = service.page(session, shop.id, service.Query("quaxwort"))
    assert sorted(c.last_name for c in found.items) == ["Brill", "Lovelace"]
