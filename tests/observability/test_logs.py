"""Request ids on every response; access and app log lines as text or one JSON object each."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bugfixer.main import create_app
from bugfixer.metering.identity import VISITOR_COOKIE
from bugfixer.observability.logs import JsonFormatter, RequestIdFilter, TextFormatter
from tests.conftest import make_settings
from tests.support.fake_llm import Error, FakeLLM, count_tokens
from tests.support.providers import ScriptedProvider

FIX = {"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"}
ANSWER = (
    "### Explanation\nMissing colon.\n\n### Fixed code\n```python\ndef f():\n    return 1\n```\n"
)
GENERATED_ID = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    app = create_app(
        make_settings(tmp_path, rate_limit_fix="1/minute"), provider=ScriptedProvider()
    )
    with TestClient(app) as c:
        yield c


def test_every_response_carries_a_request_id(client):
    responses = [
        client.get("/"),
        client.get("/no/such/page"),
        client.post("/api/v1/fixes", json=FIX),
        client.post("/api/v1/fixes", json=FIX),  # 429
        client.post("/api/v1/fixes", content=b"{}", headers={"Content-Length": "99999999"}),
    ]
    assert [r.status_code for r in responses] == [200, 404, 200, 429, 413]
    ids = [r.headers["X-Request-ID"] for r in responses]
    assert all(GENERATED_ID.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "incoming", ["0d9f3c4e-6a53-4c4b-9b9e-2f1f7f1c6a11", "01HZX3K6Q8W1Y2Z3", "lb.request_42"]
)
def test_a_valid_incoming_request_id_is_kept(client, incoming):
    assert client.get("/", headers={"X-Request-ID": incoming}).headers["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["has space", "x" * 129, "semi;colon", "naïve", ""])
def test_an_invalid_incoming_request_id_is_replaced(client, incoming):
    answered = client.get("/", headers={"X-Request-ID": incoming.encode()}).headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(answered)


class Lines(logging.Handler):
    """Formats records as the configured stderr handler would, keeping the lines."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.INFO)
        self.addFilter(RequestIdFilter())
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[dict[str, Lines]]:
    handlers = {"json": Lines(JsonFormatter()), "text": Lines(TextFormatter())}
    root = logging.getLogger()
    for handler in handlers.values():
        root.addHandler(handler)
    try:
        yield handlers
    finally:
        for handler in handlers.values():
            root.removeHandler(handler)


def test_log_lines_name_request_route_status_visitor_provider_and_tokens(tmp_path, captured):
    llm = {"llm_provider": "openai", "llm_api_key": "sk-test", "llm_model": "log-model"}
    with FakeLLM(ANSWER) as fake:
        settings = make_settings(tmp_path, llm_base_url=fake.base_url, llm_max_retries=0, **llm)
        with TestClient(create_app(settings)) as client:
            client.post("/api/v1/fixes", json=FIX, headers={"X-Request-ID": "first-fix"})
            fake.script([Error(500)])
            client.post("/api/v1/fixes", json=FIX, headers={"X-Request-ID": "failing-fix"})
            visitor_id = client.app.state.ctx.cookies.read(client.cookies[VISITOR_COOKIE])
        prompt = sum(count_tokens(m["content"]) for m in fake.requests[0]["messages"])

    entries = [json.loads(line) for line in captured["json"].lines]
    access = [e for e in entries if e["logger"] == "bugfixer.access"]
    first = next(e for e in access if e.get("request_id") == "first-fix")
    assert first["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert first["message"].startswith("POST /api/v1/fixes 200 ")
    assert (first["method"], first["route"], first["status"]) == ("POST", "/api/v1/fixes", 200)
    assert first["duration_ms"] > 0
    assert (first["provider"], first["model"]) == ("openai", "log-model")
    assert first["prompt_tokens"] == prompt
    assert first["completion_tokens"] == count_tokens(ANSWER)
    assert first["tokens"] == prompt + count_tokens(ANSWER)

    failing = [e for e in entries if e.get("request_id") == "failing-fix"]
    warning = next(e for e in failing if e["level"] == "WARNING")
    assert "LLM request failed" in warning["message"]
    failed = next(e for e in failing if e["logger"] == "bugfixer.access")
    assert failed["status"] == 503
    assert re.fullmatch(r"[0-9a-f]{16}", failed["visitor"])  # the cookie from the first fix
    assert visitor_id not in "\n".join(captured["json"].lines + captured["text"].lines)

    text = next(line for line in captured["text"].lines if "access [first-fix]" in line)
    assert " INFO bugfixer.access [first-fix] POST /api/v1/fixes 200 " in text
    assert f"provider=openai model=log-model tokens={prompt + count_tokens(ANSWER)}" in text


def test_json_lines_carry_exceptions_on_one_line():
    formatter = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("bugfixer", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = __import__("sys").exc_info()
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]
    assert "request_id" not in entry
