"""drop the per-account lockout columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A lockout kept on the users row let any stranger lock the owner out, and told them the account existed.
Failed sign-ins are now counted per (email, client address) in login_failures (made in 0004), so
users.failed_logins and users.locked_until are no longer read or written.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("locked_until", TIMESTAMP, nullable=True))
