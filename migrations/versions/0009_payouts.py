"""payouts: withdrawals to a bank account

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

payouts: one row per withdrawal, keyed by its `payout` transaction's id, with the hold that reserves the
money, the provider's reference, the retry count and when the next attempt is due (or when the attempt in
flight counts as lost). The (status, next_attempt_at) index serves the scheduler's sweep.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=36), sa.ForeignKey("transactions.id"), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("wallet_id", sa.String(length=36), sa.ForeignKey("wallets.id"), nullable=False),
        sa.Column("bank_account_id", sa.String(length=36), sa.ForeignKey("bank_accounts.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.String(length=36), sa.ForeignKey("holds.id"), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=255), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("paid_entry_id", sa.String(length=36), sa.ForeignKey("journal_entries.id"), nullable=True),
        sa.Column("returned_entry_id", sa.String(length=36), sa.ForeignKey("journal_entries.id"), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        **BINARY,
    )
    op.create_index("ix_payouts_user_id", "payouts", ["user_id"])
    op.create_index("ix_payouts_provider_ref", "payouts", ["provider_ref"])
    op.create_index("ix_payouts_due", "payouts", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_payouts_due", table_name="payouts")
    op.drop_index("ix_payouts_provider_ref", table_name="payouts")
    op.drop_index("ix_payouts_user_id", table_name="payouts")
    op.drop_table("payouts")
