"""Every provider answer is untrusted input: bad shapes are 503, hostile code is no_fix.

The real openai SDK against the local fake server, which answers whatever it is told to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bugfixer.fixing.models import Fix
from tests.fixing.test_app_with_openai import BROKEN, GOOD, openai_app
from tests.support.fake_llm import FakeLLM, Raw

SSE = {"Accept": "text/event-stream"}
DEEP_PYTHON = "x = " + "1+" * 9000 + "1\n"
DEEP_JSON = "[" * 9000 + "]" * 9000


def answer(code: str, language: str = "python") -> str:
    return f"### Explanation\nFixed it.\n\n### Fixed code\n```{language}\n{code}\n```\n"


def completion(content: object) -> Raw:
    """A Chat Completions body whose message content is ``content``, whatever it is."""
    return Raw(
        json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "test-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            }
        )
    )


def streamed(content: object) -> Raw:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return Raw(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n", "text/event-stream")


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def client(tmp_path: Path, fake: FakeLLM) -> Iterator[TestClient]:
    app = openai_app(tmp_path, fake, llm_max_retries=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def fix(client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/fixes", json={"code": BROKEN, **fields})


def stream(client: TestClient) -> list[tuple[str, dict]]:
    page = client.get("/")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/fix/stream", data={"code": BROKEN, "csrf_token": token}, headers=SSE)
    assert r.status_code == 200, r.text
    events = []
    for block in r.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def saved_fixes(client: TestClient) -> list[Fix]:
    with client.app.state.ctx.db.session() as s:
        return list(s.scalars(select(Fix)))


def test_an_answer_nested_9000_levels_deep_is_no_fix_and_free(client, fake):
    fake.script([answer(DEEP_PYTHON), answer(DEEP_PYTHON)])
    r = fix(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "no_fix" and body["fixed_code"] is None
    assert "nested too deeply" in json.dumps(body["verification"])
    assert body["usage"]["remaining"] == 3


def test_a_deep_answer_on_the_stream_is_no_fix(client, fake):
    fake.script([answer(DEEP_PYTHON), answer(DEEP_PYTHON)])
    events = stream(client)
    assert events[-1][0] == "result"
    assert events[-1][1]["status"] == "no_fix"


def test_deeply_nested_json_from_the_model_is_no_fix(client, fake):
    deep_reply = '{"explanation": "x", "fixed_code": ' + "[" * 9000
    fake.script([answer(DEEP_JSON, "json"), answer(DEEP_JSON, "json"), deep_reply, deep_reply])
    r = fix(client, code='{"a": 1,}', language="json")
    assert r.status_code == 200 and r.json()["status"] == "no_fix"
    r = fix(client)
    assert r.status_code == 200 and r.json()["status"] == "no_fix"


def test_deeply_nested_input_code_is_answered_not_a_500(client, fake):
    r = fix(client, code=DEEP_PYTHON)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("content", [42, 3.5, ["a", "b"], {"text": "x"}, True])
def test_a_content_that_is_not_text_is_503_and_costs_nothing(client, fake, content):
    fake.script([completion(content), GOOD])
    r = fix(client)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "provider_unavailable"
    assert fix(client).json()["usage"]["remaining"] == 2  # only the good fix after it


@pytest.mark.parametrize("content", [42, ["a"]])
def test_a_streamed_delta_that_is_not_text_ends_the_stream_with_an_error(client, fake, content):
    fake.script([streamed(content)])
    events = stream(client)
    assert events[-1] == ("error", events[-1][1])
    assert events[-1][1]["error"] == "provider_unavailable"
    assert saved_fixes(client) == []


@pytest.mark.parametrize("field", ["code", "error", "language"])
def test_a_lone_surrogate_in_the_request_is_a_clean_input_error(client, fake, field):
    body = {"code": BROKEN, field: "print(1) \ud800"}
    r = client.post(
        "/api/v1/fixes",
        content=json.dumps(body).encode(),  # ASCII: "\ud800" travels as an escape
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input"
    assert field in r.json()["message"] and "surrogate" in r.json()["message"]
    assert fake.request_count == 0 and saved_fixes(client) == []


def test_lone_surrogates_from_the_model_are_replaced_before_saving(client, fake):
    fixed = "def greet(name):\n    print('Hello, ' + name)  # \ud800\n"
    fake.script([completion(answer(fixed).replace("Fixed it.", "Fixed \udfff it."))])
    r = fix(client, code="def greet(name):\n    print('Hello, ' + nme)  # \n")
    assert r.status_code == 200, r.text
    body = r.json()
    assert "\ufffd" in body["explanation"] and "\ud800" not in json.dumps(body)
    [saved] = saved_fixes(client)
    assert "\ud800" not in (saved.fixed_code or "") + saved.explanation


def test_a_model_name_and_token_counts_of_any_shape_are_stored_safely(client, fake):
    raw = json.loads(completion(answer(BROKEN.replace("nme", "name"))).body)
    raw["model"] = "m" * 5000
    raw["usage"] = {"prompt_tokens": 10**30, "completion_tokens": "many", "total_tokens": -1}
    fake.script([Raw(json.dumps(raw))])
    r = fix(client)
    assert r.status_code == 200, r.text
    assert len(r.json()["model"]) <= 128


def test_a_body_that_is_not_utf8_is_a_400_naming_the_encoding(client, fake):
    r = client.post(
        "/api/v1/fixes",
        content=b'{"code": "x = \xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_encoding",
        "message": "The request body is not valid UTF-8.",
    }
