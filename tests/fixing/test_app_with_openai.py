"""The whole app on the openai provider: the real SDK against a local OpenAI-compatible server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bugfixer.main import create_app
from bugfixer.metering.identity import VISITOR_COOKIE, Identity
from bugfixer.metering.models import UsageRecord
from tests.conftest import make_settings
from tests.support.fake_llm import Delay, Error, FakeLLM, count_tokens

KEY = "sk-test"
BROKEN = "def greet(name):\n    print('Hello, ' + nme)\n"
FIXED = "def greet(name):\n    print('Hello, ' + name)\n"
GOOD = (
    "### Explanation\n"
    "`nme` is a typo for the parameter `name`.\n\n"
    "### Fixed code\n"
    f"```python\n{FIXED}```\n"
)
UNPARSEABLE = (
    "### Explanation\n"
    "Renamed the variable.\n\n"
    "### Fixed code\n"
    "```python\ndef greet(name:\n    print('Hello, ' + name)\n```\n"
)
QUICK_RETRY = {"retry-after-ms": "10"}


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(GOOD) as server:
        yield server


def openai_app(tmp_path: Path, fake: FakeLLM, **overrides: object) -> FastAPI:
    values: dict[str, object] = {
        "llm_provider": "openai",
        "llm_base_url": fake.base_url,
        "llm_api_key": KEY,
        "llm_model": "test-model",
        "llm_timeout_s": 2,
        "llm_max_retries": 1,
    }
    return create_app(make_settings(tmp_path, **{**values, **overrides}))


@pytest.fixture
def client(tmp_path: Path, fake: FakeLLM) -> Iterator[TestClient]:
    with TestClient(openai_app(tmp_path, fake)) as c:
        yield c


def fix(client: TestClient, code: str = BROKEN, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/fixes", json={"code": code, "error": "NameError: name 'nme'", **fields}
    )


def remaining(client: TestClient) -> int:
    ctx = client.app.state.ctx
    visitor_id = ctx.cookies.read(client.cookies[VISITOR_COOKIE])
    return ctx.fixer.usage_now(Identity(visitor_id=visitor_id)).remaining


def usage_records(client: TestClient) -> list[UsageRecord]:
    with client.app.state.ctx.db.session() as s:
        return list(s.scalars(select(UsageRecord)))


def test_api_returns_the_fix_parsed_from_the_models_reply(client):
    r = fix(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "fixed"
    assert body["fixed_code"] == FIXED
    assert body["explanation"] == "`nme` is a typo for the parameter `name`."
    assert (body["provider"], body["model"]) == ("openai", "test-model")
    assert body["usage"]["remaining"] == 2


def test_usage_record_keeps_the_model_and_the_tokens_the_endpoint_reported(client, fake):
    fix(client)
    sent = fake.requests[0]["messages"]
    prompt_tokens = sum(count_tokens(m["content"]) for m in sent)
    [record] = usage_records(client)
    assert (record.provider, record.model) == ("openai", "test-model")
    assert (record.prompt_tokens, record.completion_tokens) == (prompt_tokens, count_tokens(GOOD))
    assert record.cost_microusd == round(prompt_tokens * 0.15 + count_tokens(GOOD) * 0.60)


def test_each_fix_makes_exactly_one_plain_llm_request(client, fake):
    fix(client)
    assert fake.request_count == 1
    fix(client)
    assert fake.request_count == 2
    request = fake.requests[0]
    assert request["model"] == "test-model"
    assert not request.get("stream")
    assert BROKEN in request["messages"][-1]["content"]


def test_fix_failing_verification_is_asked_again_with_the_checkers_message(client, fake):
    fake.script([UNPARSEABLE, GOOD])
    body = fix(client).json()
    assert body["status"] == "fixed"
    assert body["fixed_code"] == FIXED
    assert fake.request_count == 2
    second = fake.requests[1]["messages"][-1]["content"]
    assert "It was checked" in second and "failed" in second
    assert "SyntaxError on line 1" in second
    assert "def greet(name:" in second
    assert body["usage"]["remaining"] == 2


def test_llm_answering_500s_is_503_and_costs_nothing(client, fake):
    fix(client)
    fake.script([Error(500, headers=QUICK_RETRY), Error(500, headers=QUICK_RETRY)])
    r = fix(client)
    assert r.status_code == 503
    assert r.json()["error"] == "provider_unavailable"
    assert "Retry-After" in r.headers
    assert fake.request_count == 3  # the first fix, then one try and one retry
    assert remaining(client) == 2
    assert len(usage_records(client)) == 1


def test_llm_slower_than_the_timeout_is_503_and_costs_nothing(tmp_path, fake):
    # A short timeout keeps the test quick; the timeout path is the same at any length.
    with TestClient(openai_app(tmp_path, fake, llm_timeout_s=0.5)) as client:
        fix(client)
        fake.script([Delay(5), Delay(5)])
        r = fix(client)
        assert r.status_code == 503
        assert r.json()["error"] == "provider_unavailable"
        assert remaining(client) == 2
        assert len(usage_records(client)) == 1


def test_api_key_never_appears_in_responses_or_logs(client, fake, caplog):
    caplog.set_level(logging.DEBUG)
    fake.script(
        [
            Error(401, f"Incorrect API key provided: {KEY}"),
            Error(400, f"This request with key {KEY} is not allowed"),
        ]
    )
    bodies = [fix(client).text, fix(client).text, fix(client).text]
    bodies += [client.get(path).text for path in ("/", "/healthz", "/fixes", "/openapi.json")]
    assert [b for b in bodies[:2] if "provider_unavailable" in b] == bodies[:2]
    assert all(KEY not in body for body in bodies)
    assert "rejected the API key" in caplog.text
    assert "This request with key *** is not allowed" in caplog.text
    assert KEY not in caplog.text
    assert all(KEY not in str(record.args) for record in caplog.records)


def test_healthz_reports_the_openai_provider(client):
    assert client.get("/healthz").json() == {"status": "ok", "provider": "openai"}
