"""/metrics: who may scrape it, route templates as labels, and what each flow counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bugfixer.main import create_app
from bugfixer.observability import metrics
from bugfixer.observability.multiprocess import MULTIPROC_ENV, prepare_multiprocess_dir
from tests.billing.conftest import Shop, sign_up, subscribe
from tests.conftest import make_settings
from tests.support.fake_llm import Error, FakeLLM, count_tokens
from tests.support.metrics import label_values, metric_sum
from tests.support.providers import ScriptedProvider, failing
from tests.support.server import serve

TOKEN = "scrape-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIX = {"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"}


def scraped(client: TestClient) -> str:
    r = client.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.text


def app_with_token(tmp_path: Path, provider=None, **settings):  # type: ignore[no-untyped-def]
    return create_app(
        make_settings(tmp_path, metrics_token=TOKEN, **settings),
        provider=provider or ScriptedProvider(),
    )


def test_metrics_with_a_token_set_need_that_token(tmp_path):
    with TestClient(app_with_token(tmp_path)) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        right = client.get("/metrics", headers=AUTH)

    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE bugfixer_http_requests_total counter" in right.text


def test_metrics_without_a_token_are_for_this_machine_only(tmp_path):
    app = create_app(make_settings(tmp_path), provider=ScriptedProvider())
    with TestClient(app) as remote:  # the test client's peer is not a loopback address
        assert remote.get("/metrics").status_code == 403
    with serve(app) as base:
        assert httpx.get(f"{base}/metrics").status_code == 200
        # Relayed by a proxy on this machine: the real client is elsewhere.
        relayed = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 403


def test_route_labels_are_templates_never_raw_paths(tmp_path):
    with TestClient(app_with_token(tmp_path)) as client:
        client.get("/fixes/secret-fix-id-123")
        client.get("/reset/secret-reset-token-456")
        client.get("/no/such/page-789")
        client.get("/static/app/app.js")
        client.request("BREW", "/")
        text = scraped(client)

    routes = label_values(text, "bugfixer_http_requests_total", "route")
    assert {"/fixes/{fix_id}", "/reset/{token}", "unmatched", "/static/app/{path}"} <= routes
    assert not any("secret" in r or "789" in r for r in routes)
    assert "BREW" not in label_values(text, "bugfixer_http_requests_total", "method")
    assert metric_sum(text, "bugfixer_http_request_duration_seconds_count", route="/reset/{token}")


def test_three_fixes_and_one_refusal_are_counted(tmp_path):
    with TestClient(app_with_token(tmp_path, free_fixes=3)) as client:
        before = scraped(client)
        codes = [client.post("/api/v1/fixes", json=FIX).status_code for _ in range(4)]
        after = scraped(client)

    def delta(name: str, **labels: str) -> float:
        return metric_sum(after, name, **labels) - metric_sum(before, name, **labels)

    assert codes == [200, 200, 200, 402]
    assert delta("bugfixer_fixes_total") == 3
    assert delta("bugfixer_fixes_total", provider="scripted", outcome="fixed") == 3
    assert delta("bugfixer_quota_refusals_total") == 1
    fixes = {"method": "POST", "route": "/api/v1/fixes"}
    assert delta("bugfixer_http_requests_total", **fixes, status="200") == 3
    assert delta("bugfixer_http_requests_total", **fixes, status="402") == 1


def test_a_failed_fix_is_counted_as_failed(tmp_path):
    with TestClient(app_with_token(tmp_path, provider=ScriptedProvider(failing()))) as client:
        before = scraped(client)
        assert client.post("/api/v1/fixes", json=FIX).status_code == 503
        after = scraped(client)
    labels = {"provider": "scripted", "outcome": "failed"}
    assert (
        metric_sum(after, "bugfixer_fixes_total", **labels)
        - metric_sum(before, "bugfixer_fixes_total", **labels)
        == 1
    )


def test_llm_requests_tokens_and_durations_are_counted(tmp_path):
    answer = "### Explanation\nMissing colon.\n\n### Fixed code\n```python\n{}```\n".format(
        "def f():\n    return 1\n"
    )
    llm = {"llm_provider": "openai", "llm_api_key": "sk-test", "llm_model": "metrics-model"}
    with FakeLLM(answer) as fake:
        app = create_app(
            make_settings(
                tmp_path, metrics_token=TOKEN, llm_base_url=fake.base_url, llm_max_retries=0, **llm
            )
        )
        with TestClient(app) as client:
            before = scraped(client)
            assert client.post("/api/v1/fixes", json=FIX).status_code == 200
            fake.script([Error(500)])
            assert client.post("/api/v1/fixes", json=FIX).status_code == 503
            after = scraped(client)
        prompt = sum(count_tokens(m["content"]) for m in fake.requests[0]["messages"])

    def delta(name: str, **labels: str) -> float:
        return metric_sum(after, name, **labels) - metric_sum(before, name, **labels)

    model = {"provider": "openai", "model": "metrics-model"}
    assert delta("bugfixer_llm_requests_total", **model, outcome="ok") == 1
    assert delta("bugfixer_llm_requests_total", **model, outcome="error") == 1
    assert delta("bugfixer_llm_request_duration_seconds_count", **model) == 2
    assert delta("bugfixer_llm_tokens_total", **model, kind="prompt") == prompt
    assert delta("bugfixer_llm_tokens_total", **model, kind="completion") == count_tokens(answer)
    assert delta("bugfixer_fixes_total", provider="openai", outcome="failed") == 1


def test_checkouts_and_webhook_events_are_counted(tmp_path):
    settings = make_settings(tmp_path, metrics_token=TOKEN)
    app = create_app(settings, provider=ScriptedProvider())
    with serve(app) as base:
        shop = Shop(app=app, base=base)
        before = httpx.get(f"{base}/metrics", headers=AUTH).text
        with shop.client() as browser:
            sign_up(browser)
            subscribe(shop, browser, "monthly")
        after = httpx.get(f"{base}/metrics", headers=AUTH).text

    def delta(name: str, **labels: str) -> float:
        return metric_sum(after, name, **labels) - metric_sum(before, name, **labels)

    assert delta("bugfixer_checkouts_total", plan="monthly", outcome="started") == 1
    assert delta("bugfixer_checkouts_total", plan="monthly", outcome="completed") == 1
    completed = {"type": "checkout.session.completed", "outcome": "processed"}
    assert delta("bugfixer_webhook_events_total", **completed) == 1
    assert delta("bugfixer_webhook_events_total", type="invoice.paid") >= 1


RECORD = """
import sys
from bugfixer.observability import metrics
from bugfixer.observability.multiprocess import MULTIPROC_ENV, prepare_multiprocess_dir
for _ in range(int(sys.argv[1])):
    metrics.record_fix("builtin", "fixed")
metrics.record_quota_refusal()
metrics.record_http("GET", "/", 200, 0.01)
"""


def test_workers_values_add_up_in_multiprocess_mode(tmp_path, monkeypatch):
    folder = tmp_path / "metrics"
    prepare_multiprocess_dir(folder)
    env = {**os.environ, MULTIPROC_ENV: str(folder)}
    for count in ("2", "5"):  # two worker processes, one after the other
        subprocess.run([sys.executable, "-c", RECORD, count], env=env, check=True)

    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    text, _ = metrics.exposition()
    text = text.decode()

    assert len(list(folder.glob("counter_*.db"))) == 2
    assert metric_sum(text, "bugfixer_fixes_total", provider="builtin", outcome="fixed") == 7
    assert metric_sum(text, "bugfixer_quota_refusals_total") == 2
    assert metric_sum(text, "bugfixer_http_requests_total", route="/", status="200") == 2
    assert metric_sum(text, "bugfixer_http_request_duration_seconds_count", route="/") == 2


def test_a_new_server_starts_from_an_empty_metrics_folder(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old run")
    (folder / "keep.txt").write_text("not ours")
    prepare_multiprocess_dir(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


@pytest.fixture(autouse=True)
def _no_multiprocess_env(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
