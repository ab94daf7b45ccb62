"""identifiers that mean one thing, verified contacts, server-side sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

1. Binary collation everywhere on MySQL/MariaDB. A database created with the server's default collation
   (utf8mb4_unicode_ci and friends) compares accent- and case-insensitively, so "jóse@example.com" found
   "jose@example.com" and the idempotency keys "Key-AbC-x" and "kEY-aBc-X" were one key. Every table is
   converted to utf8mb4_bin: emails, phones, keys and ids compare byte for byte. MariaDB refuses to change
   a column a foreign key uses, so the foreign keys are dropped around the conversion and made again
   exactly as they were. New tables must say mysql_collate="utf8mb4_bin" (test_migrations checks).
   SQLite already compares with BINARY.
2. users.email_verified_at / phone_verified_at (NULL until confirmed) and display_name; the codes and
   links that confirm them (verification_codes).
3. web_sessions (a web sign-in that can be ended on the server) and login_failures (per account and
   client address).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        _collate_all("utf8mb4_bin")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("phone_verified_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("display_name", sa.String(length=80), nullable=True))
    op.create_table(
        "verification_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=254), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        **BINARY,
    )
    op.create_index(op.f("ix_verification_codes_user_id"), "verification_codes", ["user_id"], unique=False)
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        **BINARY,
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", TIMESTAMP, nullable=False),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key_hash"),
        **BINARY,
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("web_sessions")  # with its index: MariaDB will not drop an index a foreign key uses
    op.drop_table("verification_codes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("display_name")
        batch.drop_column("phone_verified_at")
        batch.drop_column("email_verified_at")
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        _collate_all("utf8mb4_unicode_ci")


def _collate_all(collation: str) -> None:
    """Convert every table to `collation`, its foreign keys dropped first and made again after."""
    inspector = sa.inspect(op.get_bind())
    tables = [name for name in inspector.get_table_names() if name != "alembic_version"]
    foreign_keys = {table: inspector.get_foreign_keys(table) for table in tables}
    for table, keys in foreign_keys.items():
        for key in keys:
            op.drop_constraint(key["name"], table, type_="foreignkey")
    for table in tables:
        op.execute(f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")
    for table, keys in foreign_keys.items():
        for key in keys:
            op.create_foreign_key(key["name"], table, key["referred_table"], key["constrained_columns"],
                                  key["referred_columns"], **(key.get("options") or {}))
