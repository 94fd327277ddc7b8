"""Realistic demo customers, inserted in bulk."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Connection, update
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.customers import search
from app.customers.models import (
    BILLING,
    SHIPPING,
    Address,
    Customer,
    Phone,
    create_staging,
    stage_postings,
    store_staged_postings,
)
from app.customers.search import search_text, sort_name
from app.database.base import utcnow
from app.database.engine import insert_rows
from app.shared.audit import SYSTEM

FIRST = (
    "Anna Ben Clara David Emma Felix Greta Hannah Ida Jonas Karl Lena Lukas Marie Max Mia Noah Olga Paul Quirin "
    "Rosa Sophie Tim Ursula Valentin Wilhelm Yara Zoe Jürgen Björn Sören Renée Ömer Élodie Chloé José Ana John Mehmet Aylin"
).split()
LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter Klein Wolf "
    "Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier Lehmann "
    "Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller"
).split()
COMPANY_WORDS = "Nord Süd Alpen Spree Rhein Elbe Blau Grün Stern Licht Holz Stahl Brot Kaffee Blumen Mode Technik Bau".split()
COMPANY_KINDS = ("GmbH", "AG", "KG", "e.K.", "GmbH & Co. KG", "UG")
CITIES = (
    ("Berlin", "Berlin", "10"),
    ("Hamburg", "Hamburg", "20"),
    ("München", "Bayern", "80"),
    ("Köln", "Nordrhein-Westfalen", "50"),
    ("Frankfurt am Main", "Hessen", "60"),
    ("Stuttgart", "Baden-Württemberg", "70"),
    ("Düsseldorf", "Nordrhein-Westfalen", "40"),
    ("Leipzig", "Sachsen", "04"),
    ("Dresden", "Sachsen", "01"),
    ("Bremen", "Bremen", "28"),
    ("Hannover", "Niedersachsen", "30"),
    ("Nürnberg", "Bayern", "90"),
    ("Potsdam", "Brandenburg", "14"),
    ("Freiburg", "Baden-Württemberg", "79"),
)
STREETS = "Haupt Bahnhof Garten Schul Berg Linden Kirch Wald Ring Voltastraße Friedrich Goethe Schiller Mozart".split()
TITLES = ("Mr.", "Mrs.", "Ms.", "")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example")


def _ascii(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ó": "o", "í": "i"})
    return text.lower().translate(table)


def _customer_row(rng: random.Random, account_id: int, scoped_id: int, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    b2b = rng.random() < 0.25
    company = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS).lower()} {rng.choice(COMPANY_KINDS)}" if b2b else ""
    city, state, zip_prefix = rng.choice(CITIES)
    birthday = datetime(1940, 1, 1, tzinfo=timezone.utc) + timedelta(days=rng.randrange(0, 365 * 65))
    customer: dict[str, Any] = dict(
        account_id=account_id,
        account_scoped_id=scoped_id,
        title=rng.choice(TITLES),
        first_name=first,
        last_name=last,
        company=company,
        email=f"{_ascii(first)}.{_ascii(last)}{scoped_id}@{rng.choice(DOMAINS)}",
        phone_number=f"0{rng.randrange(30, 999)} {rng.randrange(100000, 9999999)}",
        note="",
        tax_number=f"DE{rng.randrange(100000000, 999999999)}" if b2b else "",
        channel=1,
        birthday=None if rng.random() < 0.3 else birthday,
        email_marketing_agreed=rng.random() < 0.4,
        is_b2b=b2b,
        is_favourite=rng.random() < 0.05,
        is_vip=rng.random() < 0.08,
        is_confirmed=rng.random() < 0.7,
        created_at=now,
        updated_at=now,
        version=1,
    )
    customer["city"] = city
    customer["sort_name"] = sort_name(first, last, company)
    customer["search_text"] = search_text(first, last, company, customer["email"], customer["phone_number"], city)
    address = dict(
        account_id=account_id,
        kind=BILLING,
        position=0,
        title=customer["title"],
        first_name=first,
        last_name=last,
        company=company,
        address1=f"{rng.choice(STREETS)}straße {rng.randrange(1, 180)}",
        address2="",
        zipcode=f"{zip_prefix}{rng.randrange(100, 999)}",
        city=city,
        state=state,
        country="DE",
    )
    return customer, address


def _reserve_ids(connection: Connection, table: str, count: int) -> list[int]:
    if connection.dialect.name == "postgresql":
        return list(
            connection.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {int(count)})"
            ).scalars()
        )
    start = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()
    has_sequence = connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first()
    if has_sequence:  # AUTOINCREMENT tables never reuse an id, even a deleted one's
        used = connection.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).scalar()
        start = max(start, used or 0)
    return list(range(start + 1, start + count + 1))


def _naive(value: object) -> object:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(value, datetime) else value


def _write(connection: Connection, table: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Bulk insert: COPY on PostgreSQL, executemany on SQLite."""
    insert_rows(connection, table, columns, [tuple(_naive(row[c]) for c in columns) for row in rows])


def seed(
    session: Session,
    account_id: int,
    count: int,
    batch: int = 10_000,
    progress: Callable[[int], None] | None = None,
    rng_seed: int | None = None,
) -> int:
    """Insert ``count`` customers, each with a billing address and some with a shipping one.

    Rows go in with COPY (PostgreSQL) or executemany (SQLite), in batches of
    one transaction each, on one connection. On SQLite the full-text index is
    filled per batch from the inserted rows instead of row by row through its
    triggers, and the WAL is checkpointed and truncated after each batch (else
    it grows by every batch while a server reads). The word postings are
    gathered per batch and stored in index order at the end. Then the tables
    are analysed, so that the query planner knows them as it would a real
    account's.
    """
    rng = random.Random(rng_seed)
    now = utcnow()
    if session.in_transaction():
        session.commit()
    engine = session.get_bind().engine
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        try:
            done = _seed_on(connection, sqlite, rng, account_id, count, batch, now, progress)
        finally:
            if not sqlite:
                connection.invalidate()
    return done


def _seed_on(
    connection: Connection, sqlite: bool, rng: random.Random, account_id: int, count: int, batch: int, now: datetime,
    progress: Callable[[int], None] | None,
) -> int:
    customer_columns = [c.name for c in Customer.__table__.columns]
    address_columns = [c.name for c in Address.__table__.columns]
    done = 0
    if not sqlite:
        # Storing a million customers' postings and vacuuming take minutes: the server's
        # statement timeout (for requests) would cancel them, leaving customers without postings.
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.commit()
    if sqlite:
        with connection.begin():
            for statement in search.SQLITE_FTS_DROP_TRIGGERS:
                connection.exec_driver_sql(statement)
    with connection.begin():
        create_staging(connection)
    try:
        while done < count:
            size = min(batch, count - done)
            with connection.execution_options(sqlite_begin="IMMEDIATE").begin():
                _seed_batch(connection, rng, account_id, size, now, customer_columns, address_columns)
            if sqlite:
                _checkpoint(connection)
            done += size
            if progress:
                progress(size)
    finally:
        with connection.execution_options(sqlite_begin="IMMEDIATE").begin():
            store_staged_postings(connection)
            if sqlite:
                for statement in search.SQLITE_FTS_TRIGGERS:
                    connection.exec_driver_sql(statement)
        if sqlite:
            _checkpoint(connection)
    if sqlite:
        with connection.begin():
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("ANALYZE")
    else:
        # VACUUM too: it marks the new pages all-visible, so that index-only scans (the
        # postings) read no table rows; it cannot run inside a transaction.
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("customers", "addresses", "phone_numbers", "customer_words", "search_words"):
            autocommit.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    if sqlite:
        _checkpoint(connection)
    return done


def _checkpoint(connection: Connection) -> None:
    """SQLite: copy the WAL into the database and empty it (outside any transaction, on the driver's connection)."""
    cast(sqlite3.Connection, connection.connection.driver_connection).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()


def _seed_batch(
    connection: Connection, rng: random.Random, account_id: int, size: int, now: datetime, customer_columns: list[str], address_columns: list[str]
) -> None:
    last, last_change = connection.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(
            customer_seq=Account.customer_seq + size,
            customer_count=Account.customer_count + size,
            customers_revision=Account.customers_revision + 1,
            change_seq=Account.change_seq + size,
        )
        .returning(Account.customer_seq, Account.change_seq)
    ).one()
    pairs = [_customer_row(rng, account_id, last - size + 1 + i, now) for i in range(size)]
    favourites = sum(1 for c, _ in pairs if c["is_favourite"])
    connection.execute(update(Account).where(Account.id == account_id).values(favourite_count=Account.favourite_count + favourites))
    ids = _reserve_ids(connection, "customers", size)
    addresses = []
    for index, (customer, address) in enumerate(pairs):
        customer["id"] = ids[index]
        address["customer_id"] = ids[index]
        addresses.append(address)
        if rng.random() < 0.1:
            addresses.append({**address, "kind": SHIPPING, "position": 0, "address1": f"{rng.choice(STREETS)}weg {rng.randrange(1, 90)}"})
    for address, address_id in zip(addresses, _reserve_ids(connection, "addresses", len(addresses)), strict=True):
        address["id"] = address_id
    _write(connection, "customers", customer_columns, [c for c, _ in pairs])
    _write(connection, "addresses", address_columns, addresses)
    phones = [
        {"account_id": account_id, "customer_id": c["id"], "position": 0, "national_number": c["phone_number"], "country_code": "49", "type": "normal"}
        for c, _ in pairs
    ]
    for phone, phone_id in zip(phones, _reserve_ids(connection, "phone_numbers", len(phones)), strict=True):
        phone["id"] = phone_id
    _write(connection, "phone_numbers", [c.name for c in Phone.__table__.columns], phones)
    # Each customer's "create" event, numbered as service._account_change numbers them: the changes feed names every customer.
    first_change = last_change - size + 1
    events = [
        {"account_id": account_id, "customer_id": c["id"], "at": now, "action": "create", "actor_kind": SYSTEM.kind,
         "actor_id": None, "actor_label": SYSTEM.label, "changes": "{}", "seq": first_change + i}
        for i, (c, _) in enumerate(pairs)
    ]
    _write(connection, "customer_events", list(events[0]), events)
    stage_postings(connection, [(account_id, c["id"], c["sort_name"], c["search_text"]) for c, _ in pairs])
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            "INSERT INTO customers_fts(rowid, search_text) SELECT id, search_text FROM customers WHERE id BETWEEN ? AND ?",
            (ids[0], ids[-1]),
        )
