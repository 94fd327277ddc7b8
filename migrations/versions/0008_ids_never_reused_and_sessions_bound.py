"""ids never reused, sessions bound to their user, account and epoch, sign-in attempts pending

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Tables whose ids a session, a token or a grant refers to (or a token's rate limit and the
# customer history name): SQLite hands a deleted row's id to the next row unless the table
# is AUTOINCREMENT; PostgreSQL's sequences never do.
NEVER_REUSED = ("accounts", "users", "api_tokens", "oauth_apps", "oauth_tokens")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # Sessions issued before now hold neither their account nor their epoch: everyone signs in again.
    op.execute("DELETE FROM web_sessions")
    sqlite = _sqlite()
    for table in NEVER_REUSED:
        if table == "users":
            continue
        if sqlite:
            # A rebuild (the migrations run with foreign keys off on SQLite, see env.py), keeping every id.
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
    kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
    with op.batch_alter_table("users", **kwargs) as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_users_email", type_="unique")
        batch.create_unique_constraint("uq_users_account_id_email", ["account_id", "email"])
        batch.create_index("ix_users_email", ["email"], unique=False)
    with op.batch_alter_table("login_failures") as batch:
        batch.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    sqlite = _sqlite()
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("pending")
    kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": False}} if sqlite else {}
    # Fails if one email is now used in two accounts: that cannot be undone without choosing a user to drop.
    with op.batch_alter_table("users", **kwargs) as batch:
        batch.drop_index("ix_users_email")
        batch.drop_constraint("uq_users_account_id_email", type_="unique")
        batch.create_unique_constraint("uq_users_email", ["email"])
        batch.drop_column("session_epoch")
    if sqlite:
        for table in NEVER_REUSED:
            if table == "users":
                continue
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
                pass
