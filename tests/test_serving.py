"""`bugfixer serve` and gunicorn with uvicorn workers: proxies, workers, metrics, logs."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tests.support.metrics import metric_sum
from tests.support.process import BIN, clean_environ, free_port, running

FIX = {"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"}


def fix_from(url: str, forwarded_for: str) -> int:
    """A fix on a fresh connection, claiming to be relayed for ``forwarded_for``."""
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"}
    return httpx.post(f"{url}/api/v1/fixes", json=FIX, headers=headers, timeout=30).status_code


def server_env(tmp_path, port: int, **settings: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return clean_environ(
        BUGFIXER_INSTANCE_DIR=str(tmp_path / "instance"),
        BUGFIXER_LLM_PROVIDER="builtin",
        BUGFIXER_PORT=str(port),
        BUGFIXER_TRUSTED_PROXIES="10.9.9.9",  # a proxy elsewhere, not this machine
        BUGFIXER_RATE_LIMIT_FIX_IP="2/minute",
        **settings,
    )


def test_serve_believes_forwarded_headers_only_from_trusted_proxies(tmp_path):
    port = free_port()
    env = server_env(tmp_path, port)
    argv = [BIN / "bugfixer", "serve", "--workers", "1"]
    with running(argv, env=env, cwd=tmp_path, log=tmp_path / "serve.log", port=port) as url:
        # A loopback peer is not a trusted proxy: every fix counts against 127.0.0.1.
        codes = [fix_from(url, f"198.51.100.{i}") for i in (1, 2, 3)]
        cookies = httpx.post(
            f"{url}/api/v1/fixes", json=FIX, headers={"X-Forwarded-Proto": "https"}
        ).headers.get_list("set-cookie")
    assert codes == [200, 200, 429]
    assert not any("secure" in c.lower() for c in cookies)  # not believed to be https


@pytest.mark.redis
def test_gunicorn_with_two_uvicorn_workers_shares_limits_and_metrics(tmp_path, redis_url):
    port = free_port()
    env = server_env(
        tmp_path,
        port,
        BUGFIXER_WORKERS="2",
        BUGFIXER_RATE_LIMIT_STORAGE=redis_url,
        BUGFIXER_LOG_FORMAT="json",
        TMPDIR=str(tmp_path),
    )
    subprocess.run([BIN / "bugfixer", "db", "upgrade"], env=env, cwd=tmp_path, check=True)
    argv = [BIN / "gunicorn", "-c", "python:bugfixer.gunicorn_conf"]
    log = tmp_path / "gunicorn.log"
    with running(argv, env=env, cwd=tmp_path, log=log, port=port) as url:
        codes = [fix_from(url, f"198.51.100.{i}") for i in range(1, 7)]
        scrape = httpx.get(f"{url}/metrics", timeout=10).text

    assert codes == [200, 200] + [429] * 4  # counted together, whichever worker answered
    assert metric_sum(scrape, "bugfixer_fixes_total", provider="builtin", outcome="fixed") == 2
    fixes = {"method": "POST", "route": "/api/v1/fixes"}
    assert metric_sum(scrape, "bugfixer_http_requests_total", **fixes, status="429") == 4
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    booted = {e["message"] for e in entries if e["message"].startswith("Booting worker")}
    assert len(booted) == 2
    assert sum(e.get("route") == "/api/v1/fixes" for e in entries) == 6
    assert not list(tmp_path.glob("bugfixer-metrics-*"))  # the metrics folder is removed
