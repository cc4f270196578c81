"""Rate limits in Redis hold across app instances; a Redis outage is a clear 503, not a hang."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider

FIX = {"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"}


def app_on(tmp_path, **settings):  # type: ignore[no-untyped-def]
    return create_app(make_settings(tmp_path, **settings), provider=ScriptedProvider())


@pytest.mark.redis
def test_two_app_instances_on_one_redis_allow_exactly_the_limit_between_them(tmp_path, redis_url):
    settings = {"rate_limit_fix": "5/minute", "free_fixes": 100, "rate_limit_storage": redis_url}
    first, second = app_on(tmp_path, **settings), app_on(tmp_path, **settings)
    with TestClient(first) as a, TestClient(second) as b:
        # One browser (same network and User-Agent) alternating between the instances.
        codes = [(a, b)[i % 2].post("/api/v1/fixes", json=FIX).status_code for i in range(10)]
        refusal = b.post("/api/v1/fixes", json=FIX)

    assert sorted(codes) == [200] * 5 + [429] * 5
    assert codes[:5] == [200] * 5
    assert refusal.status_code == 429 and int(refusal.headers["Retry-After"]) >= 1


@pytest.mark.redis
def test_sign_in_attempts_are_counted_across_instances(tmp_path, redis_url):
    from tests.accounts.conftest import Auth

    settings = {"rate_limit_login": "3/minute;10/hour", "rate_limit_storage": redis_url}
    with (
        TestClient(app_on(tmp_path, **settings)) as a,
        TestClient(app_on(tmp_path, **settings)) as b,
    ):
        codes = [Auth(c).login(password="wrong password").status_code for c in (a, b, a, b)]
    assert codes == [401, 401, 401, 429]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fix_is_refused_with_503_and_not_ready_while_redis_is_down(tmp_path):
    down = f"redis://127.0.0.1:{closed_port()}/0"
    with TestClient(app_on(tmp_path, rate_limit_storage=down)) as client:
        r = client.post("/api/v1/fixes", json=FIX)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "rate_limit_unavailable"
        assert "nothing was charged" in r.json()["message"]
        assert int(r.headers["Retry-After"]) >= 1

        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {
            "database": "ok",
            "rate_limit_storage": "the rate limit storage (Redis) does not answer",
        }
        assert "Redis" in ready.json()["reason"]
        assert client.get("/healthz").status_code == 200


@pytest.mark.redis
def test_ready_with_redis_reachable(tmp_path, redis_url):
    with TestClient(app_on(tmp_path, rate_limit_storage=redis_url)) as client:
        r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "rate_limit_storage": "ok"}}


def test_memory_limits_with_postgresql_warn_at_start_up(tmp_path, caplog):
    # The URL is only parsed here: nothing connects before the app serves.
    from bugfixer.main import build_limiter

    settings = make_settings(tmp_path, database_url="postgresql+psycopg://u@127.0.0.1:1/db")
    with caplog.at_level("WARNING"):
        limiter = build_limiter(settings)
    assert not limiter.shared
    assert "BUGFIXER_RATE_LIMIT_STORAGE=memory://" in caplog.text
    assert "redis://" in caplog.text
