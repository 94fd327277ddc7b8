"""Search and counts that stay fast at a million customers

Folded search text with a trigram index (SQLite FTS5, PostgreSQL pg_trgm),
a folded sort name, the billing city on the customer, an index for every
sortable column, and per-account counters for the unfiltered and favourites
totals.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.customers.search import (
    SQLITE_FTS_DROP_TRIGGERS,
    SQLITE_FTS_TABLE,
    SQLITE_FTS_TRIGGERS,
    search_text,
    sort_name,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SORT_INDEXES = {
    "ix_customers_account_id_sort_name_id": ["account_id", "sort_name", "id"],
    "ix_customers_account_id_company_id": ["account_id", "company", "id"],
    "ix_customers_account_id_email_id": ["account_id", "email", "id"],
    "ix_customers_account_id_phone_number_id": ["account_id", "phone_number", "id"],
    "ix_customers_account_id_city_id": ["account_id", "city", "id"],
    "ix_customers_account_id_is_favourite_sort_name_id": ["account_id", "is_favourite", "sort_name", "id"],
}

def _backfill(bind) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.first_name, c.last_name, c.company, c.email, c.phone_number, "
            "COALESCE((SELECT a.city FROM addresses a WHERE a.customer_id = c.id AND a.kind = 'billing' LIMIT 1), '') AS city "
            "FROM customers c"
        )
    ).all()
    update = sa.text("UPDATE customers SET search_text = :s, sort_name = :n, city = :c WHERE id = :id")
    batch = [
        {"id": r.id, "c": r.city, "n": sort_name(r.first_name, r.last_name, r.company),
         "s": search_text(r.first_name, r.last_name, r.company, r.email, r.phone_number, r.city)}
        for r in rows
    ]
    for start in range(0, len(batch), 5000):
        bind.execute(update, batch[start : start + 5000])
    bind.execute(
        sa.text(
            "UPDATE accounts SET customer_count = (SELECT count(*) FROM customers c WHERE c.account_id = accounts.id), "
            "favourite_count = (SELECT count(*) FROM customers c WHERE c.account_id = accounts.id AND c.is_favourite)"
        )
    )


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("sort_name", sa.String(300).with_variant(sa.String(300, collation="C"), "postgresql"), nullable=False, server_default=""))
        batch.add_column(sa.Column("city", sa.String(100), nullable=False, server_default=""))
        batch.drop_index("ix_customers_account_id_last_name_first_name_id")
        batch.drop_index("ix_customers_account_id_is_favourite_id")
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("customer_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("favourite_count", sa.Integer(), nullable=False, server_default="0"))
    _backfill(bind)
    for name, columns in SORT_INDEXES.items():
        op.create_index(name, "customers", columns)
    if bind.dialect.name == "sqlite":
        for statement in (SQLITE_FTS_TABLE, *SQLITE_FTS_TRIGGERS):
            op.execute(statement)
        op.execute("INSERT INTO customers_fts(customers_fts) VALUES ('rebuild')")
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_customers_search_text_trgm ON customers USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP_TRIGGERS:
            op.execute(statement)
        op.execute("DROP TABLE IF EXISTS customers_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_search_text_trgm")
    for name in SORT_INDEXES:
        op.drop_index(name, "customers")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("favourite_count")
        batch.drop_column("customer_count")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("city")
        batch.drop_column("sort_name")
        batch.drop_column("search_text")
        batch.create_index("ix_customers_account_id_is_favourite_id", ["account_id", "is_favourite", "id"])
        batch.create_index("ix_customers_account_id_last_name_first_name_id", ["account_id", "last_name", "first_name", "id"])
