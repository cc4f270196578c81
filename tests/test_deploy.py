"""The deployment files: the image's entrypoint runs here as it would in the container.

No Docker engine is needed: the Dockerfile's settings (ENV) and commands (ENTRYPOINT,
CMD, HEALTHCHECK) are read from the file and run against a real database.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from bugfixer import migrate
from bugfixer.db import make_engine
from tests.support.process import clean_environ, free_port, running

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENTRYPOINT = ROOT / "docker/entrypoint.sh"
# What a .env beside compose.yaml holds for a production deployment.
PRODUCTION = {
    "BUGFIXER_SECRET_KEY": "a-production-secret-key-of-enough-length-0123456789",
    "BUGFIXER_PUBLIC_URL": "https://fixer.example.com",
    "STRIPE_SECRET_KEY": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",  # Stripe's documented example
    "BUGFIXER_CONTACT_EMAIL": "help@fixer.example.com",
    "STRIPE_WEBHOOK_SECRET": "whsec_not_called_in_this_test",
    "BUGFIXER_LLM_PROVIDER": "builtin",
}


def instructions(name: str) -> list[str]:
    """The arguments of every NAME instruction, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", text, re.M)]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in instructions("ENV"):
        for pair in shlex.split(line):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def exec_form(name: str) -> list[str]:
    (value,) = instructions(name)
    return json.loads(value)


def as_on_the_host(argv: list[str]) -> list[str]:
    """The image installs docker/entrypoint.sh as bugfixer-entrypoint."""
    assert "COPY docker/entrypoint.sh /usr/local/bin/bugfixer-entrypoint" in DOCKERFILE
    return [str(ENTRYPOINT) if a == "bugfixer-entrypoint" else a for a in argv]


def test_the_image_runs_as_a_user_with_the_sandbox_and_a_health_check():
    (user,) = instructions("USER")
    assert user not in ("root", "0")
    assert re.search(rf"useradd .*\b{user}\b", DOCKERFILE)
    assert re.search(r"apt-get install .*\bbubblewrap\b", DOCKERFILE.replace("\\\n", " "))
    assert instructions("FROM")[0].startswith("python:3.11-slim")
    (healthcheck,) = instructions("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["bugfixer-entrypoint", "healthcheck"]')
    assert exec_form("ENTRYPOINT") == ["bugfixer-entrypoint"]
    assert exec_form("CMD") == ["serve"]
    env = image_env()
    assert env["BUGFIXER_ENV"] == "production"
    assert env["BUGFIXER_MIGRATE_ON_START"] == "false"  # migrations are their own step


@pytest.fixture
def database(tmp_path, database_url) -> str:  # type: ignore[no-untyped-def]
    return database_url


def test_image_commands_migrate_serve_and_check_health_on_the_host(tmp_path, database):
    port = free_port()
    here = {
        "BUGFIXER_INSTANCE_DIR": str(tmp_path / "instance"),
        "BUGFIXER_HOST": "127.0.0.1",
        "BUGFIXER_PORT": str(port),
        "BUGFIXER_DATABASE_URL": database,
    }
    env = clean_environ(**{**image_env(), **PRODUCTION, **here})
    serve = as_on_the_host([*exec_form("ENTRYPOINT"), *exec_form("CMD")])
    healthcheck = as_on_the_host(json.loads(instructions("HEALTHCHECK")[0].split("CMD", 1)[1]))

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    with running(serve, env=env, cwd=tmp_path, log=tmp_path / "serve.log", port=port) as url:
        assert run(*healthcheck).returncode == 0
        before = httpx.get(f"{url}/readyz", timeout=10)
        migrated = run(str(ENTRYPOINT), "migrate")
        after = httpx.get(f"{url}/readyz", timeout=10)
        fixed = httpx.post(
            f"{url}/api/v1/fixes",
            json={"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"},
            timeout=30,
        )
    stopped = run(*healthcheck)

    assert before.status_code == 503 and "bugfixer db upgrade" in before.json()["reason"]
    assert migrated.returncode == 0, migrated.stderr
    assert "database at head" in migrated.stdout
    assert after.status_code == 200
    assert fixed.status_code == 200 and fixed.json()["status"] == "fixed"
    assert stopped.returncode != 0 and "unhealthy" in stopped.stderr
    engine = make_engine(database)
    try:
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
    lines = (tmp_path / "serve.log").read_text().splitlines()
    assert sum("Started server process" in line for line in lines) == 2  # BUGFIXER_WORKERS=2
    assert all(json.loads(line) for line in lines if line.strip())  # BUGFIXER_LOG_FORMAT=json


def test_entrypoint_passes_other_commands_to_the_cli(tmp_path):
    result = subprocess.run(
        [str(ENTRYPOINT), "--version"], env=clean_environ(), capture_output=True, text=True
    )
    assert result.returncode == 0 and "version" in result.stdout


def test_compose_runs_migrations_first_and_the_app_after_healthy_dependencies():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    db, redis, migrate_, app = (services[n] for n in ("db", "redis", "migrate", "app"))

    assert db["image"] == "postgres:16"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert redis["image"].startswith("redis:") and "ping" in redis["healthcheck"]["test"]

    assert migrate_["command"] == ["migrate"]
    assert migrate_["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["command"] == ["serve"]
    assert app["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    for service in (migrate_, app):
        env = service["environment"]
        assert env["BUGFIXER_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@db:5432/" in env["BUGFIXER_DATABASE_URL"]
        assert env["BUGFIXER_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0"
        assert service["build"] == "." and service["env_file"] == ".env"
    assert app["environment"]["BUGFIXER_WORKERS"] == "2"
    assert "pgdata" in compose["volumes"]
