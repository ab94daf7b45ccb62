"""transaction PINs and risk flags

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

users gains the transaction PIN: its Argon2id hash (NULL until the person sets one), the wrong tries in a
row, and the end of the lock five wrong tries start (services/pins.py).

risk_flags: one row each time an automatic risk rule fires (services/risk.py): whose account, which
rule, what it saw, and, once an operator has looked, who cleared it and why. Open flags (resolved_at NULL)
are the back office's "flagged" list, hence the (resolved_at, created_at) index.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("pin_hash", sa.String(length=255), nullable=True))
        users.add_column(sa.Column("pin_failures", sa.Integer(), nullable=False, server_default="0"))
        users.add_column(sa.Column("pin_locked_until", TIMESTAMP, nullable=True))
    op.create_table(
        "risk_flags",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("resolved_by", sa.String(length=36), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        **BINARY,
    )
    op.create_index("ix_risk_flags_user_id", "risk_flags", ["user_id"])
    op.create_index("ix_risk_flags_open", "risk_flags", ["resolved_at", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_risk_flags_open", table_name="risk_flags")
    op.drop_index("ix_risk_flags_user_id", table_name="risk_flags")
    op.drop_table("risk_flags")
    with op.batch_alter_table("users") as users:
        users.drop_column("pin_locked_until")
        users.drop_column("pin_failures")
        users.drop_column("pin_hash")
