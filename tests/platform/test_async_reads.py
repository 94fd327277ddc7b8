"""The reads awaited on the event loop (app/database/async_reads.py) find exactly what
the synchronous path finds, on the test database (SQLite in place, PostgreSQL
through psycopg's async pool), and fail quickly when the database is down."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from psycopg_pool import PoolTimeout
from sqlalchemy import bindparam, create_engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts import tokens
from app.accounts.models import ApiToken
from app.database.async_reads import CompiledRead, PoolReads, reads_for
from app.database.engine import get_engine, read_connection, session_scope
from app.integrations import service as oauth
from app.integrations.models import OAuthToken
from tests.conftest import make_shop


def _reads(statements: list) -> list:
    """Each (statement, values) read through the app's async reads."""

    async def run() -> list:
        reads = reads_for(get_engine())
        await reads.open()
        try:
            return [await reads.first(stmt, values) for stmt, values in statements]
        finally:
            await reads.close()

    # In a thread of its own: the browser tests' sync Playwright may keep a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _lookups(raws: list[str]) -> list:
    """Each raw token looked up through the app's async reads, as the API does it."""
    return _reads([oauth.access_lookup(raw) if raw.startswith(oauth.ACCESS_PREFIX) else tokens.lookup(raw) for raw in raws])


def _sync_row(stmt, values):
    with read_connection() as conn:
        return conn.execute(stmt, values).first()


def _sync(raw: str):
    with read_connection() as conn:
        return (oauth.authenticate_access if raw.startswith(oauth.ACCESS_PREFIX) else tokens.authenticate)(conn, raw)


def test_static_and_oauth_tokens_are_found_as_the_sync_path_finds_them():
    shop = make_shop()
    with session_scope() as session:
        created = oauth.create_app(session, shop.id, "Sync", ["customers:read"])
        app = session.get(oauth.OAuthApp, created.app.id)
        live = oauth.client_credentials(session, app).access_token
        expired = oauth.client_credentials(session, app).access_token
        revoked = tokens.issue(session, shop.id, ["customers"])
        session.execute(update(OAuthToken).where(OAuthToken.token_hash == tokens.hash_token(expired))
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        session.execute(update(ApiToken).where(ApiToken.token_hash == tokens.hash_token(revoked)).values(revoked_at=datetime.now(timezone.utc)))

    rows = _lookups([shop.token, live, expired, revoked, "clt_unknown", oauth.ACCESS_PREFIX + "unknown"])

    assert tokens.principal_of(rows[0]) == _sync(shop.token)
    assert tokens.principal_of(rows[0]).account_id == shop.id
    assert oauth.access_principal_of(rows[1]) == _sync(live)
    assert oauth.access_principal_of(rows[1]).scopes == frozenset({"customers:read"})
    assert rows[2:] == [None, None, None, None]


def test_the_lookup_reads_the_account_revision_of_the_moment():
    shop = make_shop()
    before = tokens.principal_of(_lookups([shop.token])[0]).revision
    from app.customers import service

    with session_scope() as session:
        service.create(session, shop.id, {"first_name": "Ada", "last_name": "Lovelace"})
    assert tokens.principal_of(_lookups([shop.token])[0]).revision == before + 1


def test_compiled_reads_convert_parameters_as_sqlalchemy_does_and_keep_literals():
    read = CompiledRead(oauth.access_lookup(oauth.ACCESS_PREFIX + "x")[0], postgresql.psycopg.dialect())
    now = datetime(2026, 11, 27, 16, 0, tzinfo=timezone(timedelta(hours=1)))
    params = read.parameters({"token_hash": "abc", "now": now})
    assert params["token_hash"] == "abc"
    assert params["now"] == datetime(2026, 11, 27, 15, 0)  # naive UTC, as UTCDateTime stores it
    assert "access" in params.values()  # the statement's literal (kind = 'access') is a parameter too
    assert "%(token_hash)s" in read.sql

    on_sqlite = CompiledRead(oauth.access_lookup(oauth.ACCESS_PREFIX + "x")[0], sqlite.pysqlite.dialect())
    positional = on_sqlite.parameters({"token_hash": "abc", "now": now})
    assert isinstance(positional, list) and len(positional) == on_sqlite.sql.count("?")
    assert "2026-11-27 15:00:00.000000" in positional  # SQLite's stored text for naive UTC, as SQLAlchemy writes it
    assert positional.index("abc") == on_sqlite.positions.index("token_hash")


def test_fetched_values_are_converted_as_sqlalchemy_converts_them():
    """A UTC datetime column comes back aware, as the ORM and Core give it."""
    shop = make_shop()
    with session_scope() as session:
        created = oauth.create_app(session, shop.id, "Sync", ["customers:read"])
        access = oauth.client_credentials(session, session.get(oauth.OAuthApp, created.app.id)).access_token
    stmt = select(OAuthToken.expires_at, OAuthToken.kind).where(OAuthToken.token_hash == bindparam("token_hash"))
    expected = _sync_row(stmt, {"token_hash": tokens.hash_token(access)})
    [row] = _reads([(stmt, {"token_hash": tokens.hash_token(access)})])
    assert row.expires_at == expected.expires_at and row.expires_at.tzinfo is not None
    assert row.kind == "access"


def test_with_the_database_down_a_read_fails_in_seconds_instead_of_hanging():
    closed_port = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")  # nothing listens on port 9

    async def run():
        reads = PoolReads(closed_port)
        try:
            return await reads.first(*tokens.lookup("clt_anything"))
        finally:
            await reads.close()

    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool, pytest.raises(PoolTimeout):
        pool.submit(asyncio.run, run()).result()
    assert time.monotonic() - started < 5


def _together(statements: list) -> tuple[list, int]:
    """Each (statement, values) read at once, in one turn of the event loop: the rows (or the
    exception of each read), and how many connections the reads asked the pool for (PostgreSQL)."""

    async def run() -> tuple[list, int]:
        reads = reads_for(get_engine())
        await reads.open()
        try:
            before = (await reads.pool()).get_stats().get("requests_num", 0) if isinstance(reads, PoolReads) else 0
            rows = await asyncio.gather(*(reads.first(stmt, values) for stmt, values in statements), return_exceptions=True)
            after = (await reads.pool()).get_stats().get("requests_num", 0) if isinstance(reads, PoolReads) else 0
            return rows, after - before
        finally:
            await reads.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_reads_asked_for_together_are_each_answered_their_own_row():
    shops = [make_shop() for _ in range(3)]
    raws = [shops[0].token, "clt_unknown", shops[1].token, shops[2].token, shops[0].token]
    rows, connections = _together([tokens.lookup(raw) for raw in raws])
    assert [row.account_id if row else None for row in rows] == [shops[0].id, None, shops[1].id, shops[2].id, shops[0].id]
    assert rows == _lookups(raws)
    if get_engine().dialect.name == "postgresql":
        assert connections == 1  # one connection, one round trip for the five


def test_a_read_the_database_refuses_fails_alone_among_reads_asked_for_together():
    if get_engine().dialect.name != "postgresql":
        pytest.skip("reads asked for together share a round trip on PostgreSQL; SQLite's run in place, one by one")
    from psycopg.errors import InvalidTextRepresentation
    from sqlalchemy import Integer, cast

    shop = make_shop()
    refused = (select(cast(bindparam("text"), Integer).label("n")), {"text": "not a number"})
    rows, _ = _together([tokens.lookup(shop.token), refused, tokens.lookup(shop.token)])
    assert rows[0].account_id == shop.id and rows[2].account_id == shop.id
    assert isinstance(rows[1], InvalidTextRepresentation)
