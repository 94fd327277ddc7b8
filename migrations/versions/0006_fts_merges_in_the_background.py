"""fts merges in the background

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:10:00
"""
from __future__ import annotations

from alembic import op

from app.customers.search import SQLITE_FTS_DEFAULT_AUTOMERGE, SQLITE_FTS_NO_AUTOMERGE

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_FTS_NO_AUTOMERGE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_FTS_DEFAULT_AUTOMERGE)
