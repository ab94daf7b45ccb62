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
