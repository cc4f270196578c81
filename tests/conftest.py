from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bugfixer.config import Settings
from bugfixer.main import create_app

POSTGRES_URL = os.environ.get("BUGFIXER_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("BUGFIXER_TEST_REDIS_URL")


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "instance_dir": tmp_path / "instance",
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "llm_provider": "builtin",
        "llm_api_key": None,
        "llm_base_url": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def redis_url() -> str:
    """The test Redis that make test starts, emptied for this test."""
    if not REDIS_URL:
        pytest.skip("BUGFIXER_TEST_REDIS_URL is not set (make test starts Redis)")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()
    return REDIS_URL


def _fresh_postgres_database() -> Iterator[str]:
    import secrets

    import sqlalchemy as sa

    if not POSTGRES_URL:
        pytest.skip("BUGFIXER_TEST_POSTGRES_URL is not set (make test starts PostgreSQL)")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"bugfixer_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        yield from _fresh_postgres_database()


def csrf_token(client, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    """The form token a browser would have after loading ``path``."""
    import re

    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
