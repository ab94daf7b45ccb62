"""kyc: identity checks by camera, and the images people upload

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

stored_images: every image we re-encoded and wrote to UPLOAD_DIR, under its random id (never the name the
upload came with), with its owner and purpose (id_front, id_back, selfie, profile).
kyc_submissions: one set of ID photos and a selfie sent for review, its status (pending, verified,
rejected), the reviewer and the reason a rejection gives. The (status, created_at) index is the review queue.
users.kyc_status already exists (0001) and stays the status people and limits read.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_images",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=16), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        **BINARY,
    )
    op.create_index("ix_stored_images_owner", "stored_images", ["user_id", "purpose"])
    image = sa.String(length=32)
    op.create_table(
        "kyc_submissions",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("user_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("document_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reviewer_id", sa.String(length=36), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("id_front_image", image, sa.ForeignKey("stored_images.id"), nullable=False),
        sa.Column("id_back_image", image, sa.ForeignKey("stored_images.id"), nullable=True),
        sa.Column("selfie_image", image, sa.ForeignKey("stored_images.id"), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("reviewed_at", TIMESTAMP, nullable=True),
        **BINARY,
    )
    op.create_index("ix_kyc_submissions_queue", "kyc_submissions", ["status", "created_at"])
    op.create_index("ix_kyc_submissions_user", "kyc_submissions", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_kyc_submissions_user", table_name="kyc_submissions")
    op.drop_index("ix_kyc_submissions_queue", table_name="kyc_submissions")
    op.drop_table("kyc_submissions")
    op.drop_index("ix_stored_images_owner", table_name="stored_images")
    op.drop_table("stored_images")
