"""topups: mobile airtime top-ups

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

topups: one row per top-up, keyed by its `topup` transaction's id, with the number (E.164), the
operator, the hold that reserves the money, the aggregator's reference, the retry count and when the next
attempt is due (or when the attempt in flight counts as lost). The (status, next_attempt_at) index serves
the scheduler's sweep, as payouts' does.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topups",
        sa.Column("id", sa.String(length=36), sa.ForeignKey("transactions.id"), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("wallet_id", sa.String(length=36), sa.ForeignKey("wallets.id"), nullable=False),
        sa.Column("mobile_number", sa.String(length=16), nullable=False),
        sa.Column("operator", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.String(length=36), sa.ForeignKey("holds.id"), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=255), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("paid_entry_id", sa.String(length=36), sa.ForeignKey("journal_entries.id"), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        **BINARY,
    )
    op.create_index("ix_topups_user_id", "topups", ["user_id"])
    op.create_index("ix_topups_due", "topups", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_topups_due", table_name="topups")
    op.drop_index("ix_topups_user_id", table_name="topups")
    op.drop_table("topups")
