"""/healthz says the process answers; /readyz says it can serve: database, schema, Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bugfixer import migrate
from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider

ROOT = Path(__file__).resolve().parents[2]
PG_CTL = Path("/usr/lib/postgresql/15/bin/pg_ctl")


def app_on(tmp_path: Path, **settings):  # type: ignore[no-untyped-def]
    return create_app(make_settings(tmp_path, **settings), provider=ScriptedProvider())


def test_ready_when_the_database_is_at_the_latest_migration(tmp_path):
    with TestClient(app_on(tmp_path)) as client:
        r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_not_ready_until_migrations_have_run_as_their_own_step(tmp_path):
    app = app_on(tmp_path, migrate_on_start=False)
    with TestClient(app) as client:
        before = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
        migrate.upgrade(app.state.ctx.db.engine)
        after = client.get("/readyz")

    assert before.status_code == 503 and before.headers["Retry-After"]
    reason = before.json()["reason"]
    assert "no revision" in reason and "bugfixer db upgrade" in reason
    assert before.json()["checks"]["database"] == reason
    assert after.status_code == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, str]]:
    """A PostgreSQL of this test's own (it gets stopped): its folder and URL."""
    if not PG_CTL.exists():
        pytest.skip("PostgreSQL 15 is not installed (make test installs it)")
    folder = tempfile.mkdtemp(prefix="bf-pg-ready-")
    port = str(free_port())
    subprocess.run([ROOT / "scripts/testdb.sh", "start", folder, port], check=True)
    try:
        yield folder, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([ROOT / "scripts/testdb.sh", "stop", folder], check=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_not_ready_while_postgresql_is_stopped_but_still_alive(tmp_path, own_postgres):
    folder, url = own_postgres
    port = url.rsplit(":", 1)[1].split("/")[0]
    with TestClient(app_on(tmp_path, database_url=url)) as client:
        assert client.get("/readyz").status_code == 200

        subprocess.run([ROOT / "scripts/testdb.sh", "stop", folder], check=True)
        down = client.get("/readyz")
        alive = client.get("/healthz")

        subprocess.run([ROOT / "scripts/testdb.sh", "start", folder, port], check=True)
        back = client.get("/readyz")

    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    assert down.json()["reason"].startswith("the database is unreachable")
    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    assert back.status_code == 200
