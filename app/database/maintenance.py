"""The database's housekeeping, done once a second from a thread of the server's own."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from app.database.engine import get_engine

# A step gets the driver's own connection: sqlite3's or psycopg's, as the engine's dialect has it.
Step = Callable[[Any], None]


class Maintenance:
    """Housekeeping the database needs, done once a second from a thread of
    the server's own instead of inside whichever request's write crosses a limit.

    On SQLite the WAL is checkpointed here: left to itself, SQLite checkpoints
    in the commit that crosses 1,000 WAL pages, and that request waits for the
    fsync (the server turns those in-commit checkpoints off for its own
    connections while this runs). Steps others add (``add_step``) run after
    it, each for the databases it names, such as merging the search index.
    Several workers or hosts each run their own; the steps are safe to repeat.
    """

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self.steps: list[Step] = []
        self._warned: dict[str, float] = {}  # step name -> when its last failure was logged
        self._lock = threading.Lock()
        self._users = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def add_step(self, step: Step, dialect: str) -> None:
        """``step(dbapi_connection)`` runs on every round on ``dialect`` (adding it twice changes nothing)."""
        if dialect == self.engine.dialect.name and step not in self.steps:
            self.steps.append(step)

    def start(self) -> None:
        """One more app serving from this engine; the first starts the thread."""
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            if self.sqlite:
                event.listen(self.engine, "connect", _no_autocheckpoint)
                self.engine.dispose()  # connections opened before would go on checkpointing in their commits
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="db-maintenance", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """One app fewer; the last stops the thread, after a final round."""
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users or self._thread is None:
                return
            self._stop.set()
            self._thread.join(timeout=30)
            self._thread = None
            if self.sqlite:
                event.remove(self.engine, "connect", _no_autocheckpoint)
                self.engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()
        self.run_once()

    def run_once(self) -> None:
        """The checkpoint (SQLite), then every step; each on its own connection, committed."""
        for step in ((_checkpoint,) if self.sqlite else ()) + tuple(self.steps):
            try:
                raw = self.engine.raw_connection()
                try:
                    driver = raw.driver_connection
                    assert driver is not None  # a checked-out connection always has one
                    step(driver)
                    driver.commit()
                finally:
                    raw.close()
            except Exception:
                now = time.monotonic()
                if now - self._warned.get(step.__name__, -WARN_EVERY) >= WARN_EVERY:  # a database that is down: once a minute
                    self._warned[step.__name__] = now
                    logging.getLogger("clientele").warning("database maintenance step %s failed", step.__name__, exc_info=True)


WARN_EVERY = 60.0  # seconds between two logged failures of one maintenance step


def _checkpoint(dbapi_connection: sqlite3.Connection) -> None:
    dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


@lru_cache(maxsize=4)
def maintenance(engine: Engine | None = None) -> Maintenance:
    return Maintenance(engine or get_engine())


def _no_autocheckpoint(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()
