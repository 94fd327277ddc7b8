"""phone numbers: any number of them per customer

Each customer's phone number (with its country code and type) moves from the
customers table into phone_numbers, in the order the customer's list has
them; customers.phone_number stays, as the first number's (the list shows
and sorts by it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("national_number", sa.String(length=40), nullable=False),
        sa.Column("country_code", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_phone_numbers_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_phone_numbers_customer_id_customers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_numbers")),
        sqlite_autoincrement=True,  # ids never reused (an integration may keep them), as customers' and addresses'
    )
    op.create_index("ix_phone_numbers_customer_id_position", "phone_numbers", ["customer_id", "position"], unique=False)
    op.execute(
        "INSERT INTO phone_numbers (account_id, customer_id, position, national_number, country_code, type) "
        "SELECT account_id, id, 0, phone_number, country_code, CASE WHEN phone_type = '' THEN 'normal' ELSE phone_type END "
        "FROM customers WHERE phone_number <> '' ORDER BY id"
    )
    # Native on both (SQLite 3.35 and later): a rebuild of customers would drop its full-text triggers.
    op.drop_column("customers", "phone_type")
    op.drop_column("customers", "country_code")


def downgrade() -> None:
    op.add_column("customers", sa.Column("phone_type", sa.String(length=20), nullable=False, server_default="normal"))
    op.add_column("customers", sa.Column("country_code", sa.String(length=8), nullable=False, server_default=""))
    # The first number of each customer comes back; the others cannot.
    op.execute(
        "UPDATE customers SET phone_type = p.type, country_code = p.country_code FROM phone_numbers p "
        "WHERE p.customer_id = customers.id AND p.position = 0"
    )
    op.drop_index("ix_phone_numbers_customer_id_position", table_name="phone_numbers")
    op.drop_table("phone_numbers")
