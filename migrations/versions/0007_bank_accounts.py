"""bank accounts people withdraw to

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

bank_accounts: the account's holder, bank name, last four digits, currency and country, and the payout
provider's token for it; never the IBAN or account number. A removed account keeps its row (removed_at),
so payouts made to it still name it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("account_holder_name", sa.String(length=100), nullable=False),
        sa.Column("bank_name", sa.String(length=140), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("provider_token", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("removed_at", TIMESTAMP, nullable=True),
        **BINARY,
    )
    op.create_index("ix_bank_accounts_user_id", "bank_accounts", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_accounts_user_id", table_name="bank_accounts")
    op.drop_table("bank_accounts")
