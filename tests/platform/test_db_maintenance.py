"""The server checkpoints SQLite's WAL and keeps the search indexes in shape from a thread of its own, not inside requests."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.database.engine import make_engine, session_factory
from app.database.maintenance import Maintenance
from app.shared.audit import SYSTEM


@pytest.fixture
def sqlite_engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield engine
    engine.dispose()


def _rows_in_main_file(db: Path, tmp_path: Path) -> int:
    """Rows that reached the database file itself (the WAL left aside)."""
    copy = tmp_path / "main-only.db"
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as conn:
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]


def _autocheckpoint(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()


def test_commits_leave_checkpoints_to_the_thread(sqlite_engine, tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    checkpointer = Maintenance(sqlite_engine, interval=3600)  # only explicit rounds here
    checkpointer.start()
    try:
        assert _autocheckpoint(sqlite_engine) == 0
        with sqlite_engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"))
        assert _rows_in_main_file(db, tmp_path) == 0  # still only in the WAL
        checkpointer.run_once()
        assert _rows_in_main_file(db, tmp_path) == 3
    finally:
        checkpointer.stop()
    assert _autocheckpoint(sqlite_engine) == 1000  # SQLite's default again


def test_the_thread_checkpoints_on_its_own(sqlite_engine, tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    checkpointer = Maintenance(sqlite_engine, interval=0.05)
    checkpointer.start()
    try:
        with sqlite_engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
        deadline = time.monotonic() + 10
        while _rows_in_main_file(db, tmp_path) != 1:
            assert time.monotonic() < deadline, "no checkpoint within 10 s"
            time.sleep(0.05)
    finally:
        checkpointer.stop()


def test_several_apps_share_one_thread(sqlite_engine) -> None:
    checkpointer = Maintenance(sqlite_engine, interval=3600)
    checkpointer.start()
    checkpointer.start()
    checkpointer.stop()
    assert _autocheckpoint(sqlite_engine) == 0  # one app still serves
    checkpointer.stop()
    assert _autocheckpoint(sqlite_engine) == 1000
    checkpointer.stop()  # one stop too many changes nothing


@pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("postgresql"), reason="the search index of PostgreSQL")
def test_the_trigram_index_pending_list_is_emptied_by_the_maintenance_step(shop) -> None:
    from app.customers import service
    from app.customers.search import PG_TRGM_INDEX, clean_trgm_pending_list
    from app.database.engine import get_engine

    with session_factory()() as session:
        customer = service.create(session, shop.id, {"company": "Pending 0"}, SYSTEM)
        for i in range(1, 21):  # GIN's fast update appends each new search text to the pending list
            customer = service.update_customer(session, customer, {"company": f"Pending {i}"}, SYSTEM)
    maintenance = Maintenance(get_engine(), interval=3600)
    maintenance.add_step(clean_trgm_pending_list, "postgresql")
    maintenance.run_once()
    with get_engine().connect() as conn:
        left = conn.exec_driver_sql(f"SELECT gin_clean_pending_list('{PG_TRGM_INDEX}'::regclass)").scalar_one()
    assert left == 0
    with session_factory()() as session:
        found = service.page(session, shop.id, service.Query(search="pending 20")).items
    assert [c.id for c in found] == [customer.id]


def test_steps_run_after_the_checkpoint_once_each(sqlite_engine) -> None:
    ran: list[str] = []

    def step(dbapi_connection) -> None:
        ran.append(dbapi_connection.execute("SELECT count(*) FROM t").fetchone()[0])

    maintenance = Maintenance(sqlite_engine, interval=3600)
    maintenance.add_step(step, "sqlite")
    maintenance.add_step(step, "sqlite")
    maintenance.add_step(step, "postgresql")  # not this database: never runs
    maintenance.run_once()
    assert ran == [0]


@pytest.mark.skipif(not os.environ["DATABASE_URL"].startswith("sqlite"), reason="the search index of SQLite")
def test_the_search_index_is_merged_by_the_maintenance_step_not_by_writes(shop) -> None:
    from app.customers import service
    from app.customers.search import merge_fts_step
    from app.database.engine import get_engine

    engine = get_engine()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM customers_fts_config WHERE k = 'automerge'").scalar_one() == 0
    with session_factory()() as session:
        customer = service.create(session, shop.id, {"company": "Merge 0"}, SYSTEM)
        for i in range(1, 9):  # each commit leaves one more index segment, unmerged
            customer = service.update_customer(session, customer, {"company": f"Merge {i}"}, SYSTEM)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        before = conn.total_changes
        merge_fts_step(conn)
        assert conn.total_changes > before, "the step merged nothing"
        with session_factory()() as session:
            found = service.page(session, shop.id, service.Query(search="merge 8")).items
        assert [c.id for c in found] == [customer.id]
        # Raises (SQLITE_CORRUPT_VTAB) if the merged index disagrees with the table.
        conn.execute("INSERT INTO customers_fts(customers_fts) VALUES ('integrity-check')")
    finally:
        raw.close()


def test_a_failing_step_is_logged_once_a_minute_not_every_round(sqlite_engine, caplog) -> None:
    def broken(dbapi_connection) -> None:
        raise RuntimeError("no such table")

    maintenance = Maintenance(sqlite_engine, interval=3600)
    maintenance.add_step(broken, "sqlite")
    with caplog.at_level("WARNING", logger="clientele"):
        for _ in range(5):
            maintenance.run_once()
    assert [r.getMessage() for r in caplog.records] == ["database maintenance step broken failed"]
