"""The databases of a load run: a fresh one (SQLite file or PostgreSQL database,
recreated) or one given, the account, admin and API token the run uses (made
with the CLI as an operator would), and the databases' own integrity checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.server import ROOT

VAR = ROOT / "var" / "load"
DEFAULT_PG_SERVER = os.environ.get("LOAD_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "load-test password 1"
CLIENTELE = (sys.executable, "-m", "app.cli")  # the ``clientele`` command of this checkout (run from ROOT)


@dataclass
class Target:
    label: str
    database_url: str
    ours: bool  # a database this script created (and may recreate)


def sqlite_target(name: str) -> Target:
    folder = VAR / "sqlite"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Target("sqlite", f"sqlite:///{path}", True)


def postgres_target(name: str, server_url: str = DEFAULT_PG_SERVER) -> Target:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.config import normalise_database_url

    server = make_url(normalise_database_url(server_url))
    if server.host not in ("127.0.0.1", "localhost", "::1", None):
        raise SystemExit("the PostgreSQL server must be on this machine (127.0.0.1)")
    admin = create_engine(server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return Target("postgres", server.set(database=name).render_as_string(hide_password=False), True)


def given_target(url: str) -> Target:
    from app.config import normalise_database_url

    url = normalise_database_url(url)
    parts = urlsplit(url.replace("+psycopg", ""))
    if not url.startswith("sqlite") and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the database must be on this machine (127.0.0.1)")
    return Target("sqlite" if url.startswith("sqlite") else "postgres", url, False)


def server_env(target: Target, var_dir: Path, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELE_")}
    env.update(
        DATABASE_URL=target.database_url,
        CLIENTELE_RATE_LIMIT="0",
        CLIENTELE_VAR_DIR=str(var_dir),
        CLIENTELE_SECRET_KEY=secret,
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Credentials:
    account: str
    account_id: int
    email: str
    token: str


def provision(env: dict[str, str]) -> Credentials:
    """A new account, an admin user and an API token, made with the CLI as an operator would."""
    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([*CLIENTELE, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise SystemExit(f"clientele {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    suffix = secrets.token_hex(4)
    account = f"Load {time.strftime('%Y-%m-%d %H:%M:%S')} {suffix}"
    email = f"load-{suffix}@example.com"
    cli("db", "upgrade")
    cli("accounts", "create", account)
    cli("users", "create", "--account", account, "--email", email, "--role", "admin", stdin=PASSWORD + "\n")
    token = cli("tokens", "create", "--account", account, "--scope", "customers", "--name", "load").strip().splitlines()[-1]
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": account}).scalar_one()
    engine.dispose()
    return Credentials(account, account_id, email, token)


def integrity(target: Target) -> dict[str, str]:
    """The database's own consistency checks."""
    from sqlalchemy import create_engine, text

    results: dict[str, str] = {}
    engine = create_engine(target.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            if target.label == "sqlite":
                rows = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                results["PRAGMA integrity_check"] = "ok" if rows == ["ok"] else "WRONG: " + "; ".join(rows[:5])
                broken = conn.execute(text("PRAGMA foreign_key_check")).all()
                results["PRAGMA foreign_key_check"] = "ok" if not broken else f"WRONG: {len(broken)} rows"
                try:
                    conn.execute(text("INSERT INTO customers_fts(customers_fts) VALUES ('integrity-check')"))
                    conn.commit()
                    results["FTS integrity-check"] = "ok"
                except Exception as exc:  # noqa: BLE001 - the check reports by raising
                    results["FTS integrity-check"] = f"WRONG: {exc}"[:300]
            else:
                orphans = conn.execute(text("SELECT count(*) FROM addresses a LEFT JOIN customers c ON c.id = a.customer_id WHERE c.id IS NULL")).scalar()
                results["addresses without customer"] = "ok" if orphans == 0 else f"WRONG: {orphans}"
                counters = conn.execute(text(
                    "SELECT count(*) FROM accounts a WHERE a.customer_count <> (SELECT count(*) FROM customers c WHERE c.account_id = a.id) "
                    "OR a.favourite_count <> (SELECT count(*) FROM customers c WHERE c.account_id = a.id AND c.is_favourite)"
                )).scalar()
                results["counters of every account"] = "ok" if counters == 0 else f"WRONG: {counters} accounts"
                try:
                    if target.ours:
                        conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
                    indexes = conn.execute(text(
                        "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                        "JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE am.amname = 'btree' AND n.nspname = 'public'"
                    )).scalars().all()
                    for index in indexes:
                        conn.execute(text("SELECT bt_index_check(CAST(:i AS regclass), true)"), {"i": index})
                    results["amcheck bt_index_check (heapallindexed)"] = f"ok ({len(indexes)} indexes)"
                except Exception as exc:  # noqa: BLE001
                    results["amcheck bt_index_check (heapallindexed)"] = f"WRONG or unavailable: {exc}"[:300]
                conn.commit()
    finally:
        engine.dispose()
    return results

