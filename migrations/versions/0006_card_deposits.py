"""card deposits through Stripe and the webhook events applied

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

card_deposits: our side of each PaymentIntent (one per pending `deposit` transaction), with what the
webhooks told us about it: refunds and a dispute, kept even when they arrive before the payment itself.
stripe_events: the ids of webhook events already applied, written in the same transaction as the effect.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_deposits",
        sa.Column("transaction_id", sa.String(length=36), sa.ForeignKey("transactions.id"), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("wallet_id", sa.String(length=36), sa.ForeignKey("wallets.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True, unique=True),
        sa.Column("client_secret", sa.String(length=255), nullable=True),
        sa.Column("credit_entry_id", sa.String(length=36), sa.ForeignKey("journal_entries.id"), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("charge_refunded", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.JSON(), nullable=False),
        sa.Column("dispute", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        **BINARY,
    )
    op.create_index("ix_card_deposits_user_id", "card_deposits", ["user_id"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), primary_key=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        **BINARY,
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_index("ix_card_deposits_user_id", table_name="card_deposits")
    op.drop_table("card_deposits")
