"""word postings for search

Every word of a customer's search text with the customer's sort name
(customer_words), and every word of an account (search_words), filled from
the customers there are.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.customers.models import SORT_NAME, fill_postings

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _customers(bind, batch: int = 10_000):
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT account_id, id, sort_name, search_text FROM customers WHERE id > :last ORDER BY id LIMIT :batch"
            ),
            {"last": last, "batch": batch},
        ).all()
        if not rows:
            return
        last = rows[-1][1]
        yield [tuple(r) for r in rows]


def upgrade() -> None:
    op.create_table(
        "customer_words",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(300), nullable=False),
        sa.Column("sort_name", SORT_NAME, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_customer_words_account_id_accounts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "word", "sort_name", "customer_id", name="pk_customer_words"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_words",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_search_words_account_id_accounts", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "word", name="pk_search_words"),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    fill_postings(bind, _customers(bind))


def downgrade() -> None:
    op.drop_table("search_words")
    op.drop_table("customer_words")
