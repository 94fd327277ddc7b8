"""changes feed: customer events numbered per account in commit order

Every customer event gets its number in its account (customer_events.seq,
unique per account); accounts.change_seq holds the last one handed out.
Events there are are numbered in id order (they have all committed). A
customer without any event (inserted in bulk, or from before the history)
gets a "create" event, so that the feed read from its start names every
customer.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("customer_events", sa.Column("seq", sa.BigInteger(), nullable=True))
    bind.execute(
        sa.text(
            "INSERT INTO customer_events (account_id, customer_id, at, action, actor_kind, actor_id, actor_label, changes) "
            "SELECT c.account_id, c.id, c.created_at, 'create', 'system', NULL, 'system', '{}' FROM customers c "
            "WHERE NOT EXISTS (SELECT 1 FROM customer_events e WHERE e.account_id = c.account_id AND e.customer_id = c.id) "
            "ORDER BY c.id"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE customer_events SET seq = numbered.n FROM "
            "(SELECT id, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY id) AS n FROM customer_events) AS numbered "
            "WHERE numbered.id = customer_events.id"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE accounts SET change_seq = COALESCE((SELECT MAX(e.seq) FROM customer_events e WHERE e.account_id = accounts.id), 0)"
        )
    )
    with op.batch_alter_table("customer_events") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
    op.create_index("ix_customer_events_account_id_seq", "customer_events", ["account_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_customer_events_account_id_seq", table_name="customer_events")
    with op.batch_alter_table("customer_events") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("change_seq")
