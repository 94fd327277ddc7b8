"""The server checkpoints SQLite's WAL from a thread of its own, not inside commits."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import WalCheckpointer, make_engine


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
    checkpointer = WalCheckpointer(sqlite_engine, interval=3600)  # only explicit checkpoints here
    checkpointer.start()
    try:
        assert _autocheckpoint(sqlite_engine) == 0
        with sqlite_engine.begin() as conn:
            conn.execute(text("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"))
        assert _rows_in_main_file(db, tmp_path) == 0  # still only in the WAL
        checkpointer.checkpoint()
        assert _rows_in_main_file(db, tmp_path) == 3
    finally:
        checkpointer.stop()
    assert _autocheckpoint(sqlite_engine) == 1000  # SQLite's default again


def test_the_thread_checkpoints_on_its_own(sqlite_engine, tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    checkpointer = WalCheckpointer(sqlite_engine, interval=0.05)
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
    checkpointer = WalCheckpointer(sqlite_engine, interval=3600)
    checkpointer.start()
    checkpointer.start()
    checkpointer.stop()
    assert _autocheckpoint(sqlite_engine) == 0  # one app still serves
    checkpointer.stop()
    assert _autocheckpoint(sqlite_engine) == 1000
    checkpointer.stop()  # one stop too many changes nothing


def test_postgresql_needs_none() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none")  # never connected
    checkpointer = WalCheckpointer(engine)
    checkpointer.start()
    assert checkpointer._thread is None
    checkpointer.stop()
