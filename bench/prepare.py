"""A seeded benchmark database, made (or reused) through the real `clientele` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import closing
from typing import Any

from bench.common import (
    ACCOUNT,
    CLIENTELE,
    PG_SERVER,
    ROOT,
    USER_EMAIL,
    USER_PASSWORD,
    Target,
)


def log(message: str) -> None:
    print(message, flush=True)


def cli(target: Target, *args: str, stdin: str | None = None, capture: bool = False, ok_if: str | None = None) -> str:
    """Run `clientele ARGS` against the benchmark database; its output is shown unless captured."""
    log(f"  $ clientele {' '.join(args)}")
    result = subprocess.run(
        [str(CLIENTELE), *args],
        env=target.env(),
        cwd=ROOT,
        input=stdin,
        text=True,
        check=False,
        stdout=subprocess.PIPE if capture or ok_if else None,
        stderr=subprocess.PIPE if capture or ok_if else None,
    )
    if result.returncode != 0:
        if ok_if and ok_if in (result.stderr or "") + (result.stdout or ""):
            return result.stdout or ""
        sys.stderr.write((result.stdout or "") + (result.stderr or ""))
        raise RuntimeError(f"clientele {' '.join(args)} failed with exit code {result.returncode}")
    return result.stdout or ""


def _pg_admin():
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def _held_customers(target: Target) -> int | None:
    """accounts.customer_count of the Bench account, or None when there is no such database/table/account."""
    if target.db == "sqlite":
        if not target.sqlite_path.exists():
            return None
    else:
        with _pg_admin() as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.pg_database,)).fetchone() is None:
                return None
    try:
        with closing(target.raw_connect()) as conn:
            row = conn.execute(f"SELECT customer_count FROM accounts WHERE name = {target.placeholder}", (ACCOUNT,)).fetchone()
    except Exception:  # noqa: BLE001 - no tables yet (either driver's error)
        return None
    return None if row is None else int(row[0])


def _fresh_database(target: Target) -> None:
    if target.db == "sqlite":
        target.var_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            path = target.sqlite_path.with_name(target.sqlite_path.name + suffix)
            path.unlink(missing_ok=True)
        return
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target.pg_database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{target.pg_database}"')
    target.var_dir.mkdir(parents=True, exist_ok=True)


def prepare(target: Target) -> dict[str, Any]:
    """Seed (or reuse) the database; create the user and a token; return the benchmark context."""
    n = target.customers
    held = _held_customers(target)
    started = time.monotonic()
    if held == n:
        log(f"[{target.db}] reusing {target.database_url}: account {ACCOUNT!r} holds {n:,} customers")
        cli(target, "db", "upgrade")
        seeded = None
    else:
        what = "missing" if held is None else f"holds {held:,} customers, not {n:,}"
        log(f"[{target.db}] {target.database_url} {what}: seeding a fresh database")
        _fresh_database(target)
        cli(target, "db", "upgrade")
        cli(target, "accounts", "create", ACCOUNT)
        cli(target, "seed", "--customers", str(n), "--account", ACCOUNT, "--seed", "1")
        if target.db == "postgresql":
            # What autovacuum does to a table that has been around for a while: visibility map and statistics.
            log("  VACUUM (ANALYZE) customers, addresses")
            with closing(target.raw_connect()) as conn:
                conn.execute("VACUUM (ANALYZE) customers")
                conn.execute("VACUUM (ANALYZE) addresses")
        seeded = time.monotonic() - started
        log(f"[{target.db}] seeded {n:,} customers in {seeded:.0f} s")
        (target.var_dir / "seeded.json").write_text(json.dumps({"seconds": round(seeded), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    cli(target, "users", "create", "--account", ACCOUNT, "--email", USER_EMAIL, "--role", "admin",
        stdin=USER_PASSWORD + "\n", ok_if="exists already")
    token = cli(target, "tokens", "create", "--account", ACCOUNT, "--scope", "customers", "--name", "bench", capture=True).strip().splitlines()[-1]
    ctx = _context(target)
    ctx.update(email=USER_EMAIL, password=USER_PASSWORD, token=token, seeded_seconds=seeded)
    record = target.var_dir / "seeded.json"
    ctx["seeded_before"] = json.loads(record.read_text()) if seeded is None and record.exists() else None
    return ctx


def _context(target: Target) -> dict[str, Any]:
    """Ids and search terms taken from the seeded data."""
    from bench.search_kinds import drawn_terms

    n, ph = target.customers, target.placeholder
    with closing(target.raw_connect()) as conn:
        account_id, total = conn.execute(f"SELECT id, customer_count FROM accounts WHERE name = {ph}", (ACCOUNT,)).fetchone()

        def by_scoped(scoped: int) -> tuple:
            return conn.execute(
                "SELECT id, first_name, last_name, company, email, phone_number, is_favourite, is_vip, is_b2b "
                f"FROM customers WHERE account_id = {ph} AND account_scoped_id = {ph}",
                (account_id, scoped),
            ).fetchone()

        # Ten customers spread over the table, for the detail pages.
        detail_ids = [by_scoped(max(1, n * k // 10))[0] for k in range(1, 11)]
        edit_row = by_scoped(max(1, n // 3))
        # The middle of the list, where an OFFSET page costs most (pages past it are read from the end),
        # and the id a keyset walk (?after=) would be at there.
        middle_page = max(1, -(-total // 30) // 2)
        middle_after = by_scoped((middle_page - 1) * 30)[0] if middle_page > 1 else 0
    edit = dict(zip(("id", "first_name", "last_name", "company", "email", "phone_number", "is_favourite", "is_vip", "is_b2b"), edit_row))
    edit = {k: (bool(v) if k.startswith("is_") else v) for k, v in edit.items()}
    edit["companies"] = ["Benchmark Nord GmbH", "Benchmark Süd GmbH"]
    return {
        "customers": n,
        "account_id": account_id,
        "total": total,
        "last_page": max(1, -(-total // 30)),
        "middle_page": middle_page,
        "middle_after": middle_after,
        "detail_ids": detail_ids,
        # What people type, drawn from the data with a fixed seed: ten terms of every kind.
        "terms": drawn_terms(target.database_url, ACCOUNT)[1],
        "edit": edit,
    }
