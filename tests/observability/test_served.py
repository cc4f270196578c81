"""`bugfixer serve --workers 2`: metrics add up over workers; every log line is JSON."""

from __future__ import annotations

import json
import re

import httpx

from tests.support.metrics import metric_sum
from tests.support.process import BIN, clean_environ, free_port, running

TOKEN = "served-metrics-token-0123456789"
FIX = {"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"}


def test_two_workers_count_three_fixes_one_refusal_and_log_json_lines(tmp_path):
    port, scratch = free_port(), tmp_path / "tmp"
    scratch.mkdir()
    env = clean_environ(
        BUGFIXER_INSTANCE_DIR=str(tmp_path / "instance"),
        BUGFIXER_LLM_PROVIDER="builtin",
        BUGFIXER_LOG_FORMAT="json",
        BUGFIXER_METRICS_TOKEN=TOKEN,
        BUGFIXER_PORT=str(port),
        TMPDIR=str(scratch),  # where serve makes the workers' metrics folder
    )
    log = tmp_path / "serve.log"
    argv = [BIN / "bugfixer", "serve", "--workers", "2"]
    with running(argv, env=env, cwd=tmp_path, log=log, port=port) as url:
        with httpx.Client(base_url=url, timeout=30) as browser:
            fixes = [browser.post("/api/v1/fixes", json=FIX) for _ in range(4)]
        without_token = httpx.get(f"{url}/metrics")
        scrape = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        metrics_folders = list(scratch.glob("bugfixer-metrics-*"))

    assert [r.status_code for r in fixes] == [200, 200, 200, 402]
    assert [r.json()["status"] for r in fixes[:3]] == ["fixed"] * 3
    assert without_token.status_code == 401
    assert scrape.status_code == 200
    text = scrape.text
    assert metric_sum(text, "bugfixer_fixes_total") == 3
    assert metric_sum(text, "bugfixer_fixes_total", provider="builtin", outcome="fixed") == 3
    assert metric_sum(text, "bugfixer_quota_refusals_total") == 1
    ok = {"provider": "builtin", "model": "builtin-rules-1", "outcome": "ok"}
    assert metric_sum(text, "bugfixer_llm_requests_total", **ok) == 3
    fix_route = {"method": "POST", "route": "/api/v1/fixes"}
    assert metric_sum(text, "bugfixer_http_requests_total", **fix_route, status="200") == 3
    assert metric_sum(text, "bugfixer_http_requests_total", **fix_route, status="402") == 1

    assert len(metrics_folders) == 1 and not metrics_folders[0].exists()  # removed at exit

    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    started = {
        m.group(1)
        for e in entries
        if (m := re.match(r"Started server process \[(\d+)\]", e["message"]))
    }
    assert len(started) == 2
    access = [e for e in entries if e["logger"] == "bugfixer.access"]
    fix_lines = [e for e in access if e["route"] == "/api/v1/fixes"]
    assert [e["status"] for e in fix_lines] == [200, 200, 200, 402]
    assert {e["request_id"] for e in fix_lines} == {r.headers["X-Request-ID"] for r in fixes}
    assert all(e["provider"] == "builtin" and e["tokens"] == 0 for e in fix_lines[:3])
