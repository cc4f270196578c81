"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bugfixer import migrate
from bugfixer.db import make_engine
from bugfixer.models import Base


def test_empty_database_upgrades_to_head_and_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert {"visitors", "trials", "fixes", "usage_records"} <= set(
            inspect(engine).get_table_names()
        )
        migrate.upgrade(engine)  # running it again changes nothing
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_app_upgrades_an_empty_database_on_first_run(tmp_path):
    from bugfixer.main import create_app
    from tests.conftest import make_settings
    from tests.support.providers import ScriptedProvider

    settings = make_settings(tmp_path)
    create_app(settings, provider=ScriptedProvider())
    engine = make_engine(settings.resolved_database_url)
    assert migrate.is_current(engine)
    engine.dispose()
