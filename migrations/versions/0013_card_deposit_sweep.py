"""card_deposits: an index for the sweep of stale pending deposits

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The periodic sweep (services/deposit_expiry.py) looks for deposits still pending some time after they
were opened; (status, created_at) finds them without reading every deposit ever made.
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_card_deposits_stale", "card_deposits", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_card_deposits_stale", table_name="card_deposits")
