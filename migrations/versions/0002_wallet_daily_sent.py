"""the day's sent total on the wallet row

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

The daily transfer limit used to sum the day's transfer debits on every transfer (with a covering index
for it). The ledger now keeps that total on the wallet row, beside the balance, so the sum and its index
go.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wallets") as batch:
        batch.add_column(sa.Column("daily_sent", sa.BigInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("daily_sent_day", sa.Date(), nullable=True))
    op.drop_index("ix_transactions_wallet_daily", table_name="transactions")


def downgrade() -> None:
    op.create_index("ix_transactions_wallet_daily", "transactions",
                    ["wallet_id", "kind", "direction", "created_at", "amount"], unique=False)
    with op.batch_alter_table("wallets") as batch:
        batch.drop_column("daily_sent_day")
        batch.drop_column("daily_sent")
