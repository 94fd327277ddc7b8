"""history and trash

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:04:00.385907
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.customers.search import SQLITE_FTS_TRIGGERS

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Never hand a deleted customer's id to a new one, so that a restore
        # gets its id back and the history of one id is one customer's.
        with op.batch_alter_table("customers", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
        for statement in SQLITE_FTS_TRIGGERS:
            op.execute(statement)
    op.create_table('customer_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor_kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_events'))
    )
    op.create_index('ix_customer_events_account_id_customer_id_id', 'customer_events', ['account_id', 'customer_id', 'id'], unique=False)
    op.create_table('trashed_customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('account_scoped_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_by', sa.String(length=254), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trashed_customers'))
    )
    op.create_index('ix_trashed_customers_account_id_customer_id', 'trashed_customers', ['account_id', 'customer_id'], unique=False)
    op.create_index('ix_trashed_customers_account_id_deleted_at', 'trashed_customers', ['account_id', 'deleted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_trashed_customers_account_id_deleted_at', table_name='trashed_customers')
    op.drop_index('ix_trashed_customers_account_id_customer_id', table_name='trashed_customers')
    op.drop_table('trashed_customers')
    op.drop_index('ix_customer_events_account_id_customer_id_id', table_name='customer_events')
    op.drop_table('customer_events')
