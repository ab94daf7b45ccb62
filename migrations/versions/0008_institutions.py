"""institutions people pay with a structured reference, and their settlements

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

institutions: the directory (name, kind, country, currency), the reference fields a payer must give with
their patterns, the institution's own ledger account (its balance is derived from postings, never cached:
payers never wait on one another) and the payout token of its bank account.
institution_settlements: each payout of an institution's collected balance, with its status.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference_fields", sa.JSON(), nullable=False),
        sa.Column("account_id", BIG_ID, sa.ForeignKey("accounts.id"), nullable=False, unique=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("payout_token", sa.String(length=255), nullable=True),
        sa.Column("payout_last4", sa.String(length=4), nullable=True),
        sa.Column("payout_bank_name", sa.String(length=140), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        **BINARY,
    )
    op.create_index("ix_institutions_directory", "institutions", ["kind", "active", "name"])
    op.create_table(
        "institution_settlements",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("institution_id", sa.String(length=36), sa.ForeignKey("institutions.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=36), sa.ForeignKey("journal_entries.id"), nullable=False),
        sa.Column("reversal_entry_id", sa.String(length=36), sa.ForeignKey("journal_entries.id"), nullable=True),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=255), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        **BINARY,
    )
    op.create_index("ix_institution_settlements_institution_id", "institution_settlements", ["institution_id"])
    op.create_index("ix_institution_settlements_status", "institution_settlements", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_institution_settlements_status", table_name="institution_settlements")
    op.drop_index("ix_institution_settlements_institution_id", table_name="institution_settlements")
    op.drop_table("institution_settlements")
    op.drop_index("ix_institutions_directory", table_name="institutions")
    op.drop_table("institutions")
