"""The Alembic migrations, not create_all, build the schema: they must match the models exactly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from webapp.migrate import upgrade
from webapp.models import Base


def _diff(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def test_mariadb_schema_matches_models(database_url):
    assert _diff(database_url) == []


def test_sqlite_schema_matches_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    assert _diff(url) == []


def test_every_mariadb_text_column_compares_byte_for_byte(database_url):
    """The test database is made with utf8mb4_unicode_ci, like many servers' default; after the migrations
    no column may compare accent- or case-insensitively (emails, phones, idempotency keys, ids...)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            loose = connection.exec_driver_sql(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = DATABASE() AND collation_name IS NOT NULL "
                "AND collation_name <> 'utf8mb4_bin' AND table_name <> 'alembic_version'").all()
    finally:
        engine.dispose()
    assert loose == []
