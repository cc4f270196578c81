"""The page's streaming endpoint: Server-Sent Events, and what a failure or hang-up costs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bugfixer.fixing.providers import FixPrompt, Provider, ProviderReply
from bugfixer.main import create_app
from bugfixer.metering.identity import VISITOR_COOKIE, Identity
from bugfixer.metering.models import Trial, UsageRecord
from tests.conftest import csrf_token, make_settings
from tests.support.fake_llm import Delay, FakeLLM
from tests.support.providers import ScriptedProvider, failing
from tests.support.server import serve

BROKEN = "def f()\n    return 1\n"
FIXED = "def f():\n    return 1\n"
# The page's script asks for this; errors before the stream then come back as JSON.
SSE = {"Accept": "text/event-stream"}
GOOD = (
    "### Explanation\n"
    "The `def` header of `f` is missing the colon that starts its body, so Python "
    "stops with a SyntaxError before running anything.\n\n"
    "### Fixed code\n"
    "```python\n"
    f"{FIXED}"
    "```\n"
)

Event = tuple[str, dict]


def reply(code: str | None = FIXED, explanation: str = "Added the missing colon.") -> ProviderReply:
    return ProviderReply(explanation=explanation, fixed_code=code, model="scripted-1")


class ChunkedProvider(ScriptedProvider):
    """Streams its steps as they come: text is a delta, ("sleep", s) pauses, an error raises.

    ScriptedProvider only streams after its whole answer is ready; this one fails or
    stalls after some text has already gone out.
    """

    name = "chunked"

    def __init__(self, *chunks: object) -> None:
        super().__init__()
        self.chunks = list(chunks)

    async def stream(self, prompt: FixPrompt) -> AsyncIterator[str | ProviderReply]:
        if not self.chunks:
            async for item in Provider.stream(self, prompt):
                yield item
            return
        chunks, self.chunks = self.chunks, []
        for chunk in chunks:
            if isinstance(chunk, tuple):
                await asyncio.sleep(chunk[1])
            elif isinstance(chunk, BaseException):
                raise chunk
            else:
                yield chunk  # type: ignore[misc]
        yield self.default


def parse_events(body: str) -> list[Event]:
    events = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def names(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def stream_fix(client: TestClient, code: str = BROKEN, **fields: str) -> httpx.Response:
    """Post the page's form as its script does, with the page's CSRF token."""
    data = {"csrf_token": csrf_token(client), "code": code, **fields}
    return client.post("/fix/stream", data=data, headers=SSE)


def remaining(app: FastAPI, visitor_id: str | None) -> int:
    return app.state.ctx.fixer.usage_now(Identity(visitor_id=visitor_id)).remaining


def remaining_after_an_api_fix(client: TestClient) -> int:
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    assert r.status_code == 200, r.text
    return r.json()["usage"]["remaining"]


def count(app: FastAPI, model) -> int:  # type: ignore[no-untyped-def]
    with app.state.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> Provider:
    """A fresh ScriptedProvider, or what an indirect parameter's factory builds."""
    return getattr(request, "param", ScriptedProvider)()


@pytest.fixture
def app(tmp_path: Path, provider: Provider) -> FastAPI:
    return create_app(make_settings(tmp_path), provider=provider)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(GOOD) as server:
        yield server


def openai_app(tmp_path: Path, fake: FakeLLM) -> FastAPI:
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=fake.base_url,
        llm_api_key="sk-test",
        llm_model="test-model",
        llm_timeout_s=2,
        llm_max_retries=1,
    )
    return create_app(settings)


# -- the happy path ----------------------------------------------------------------------


def test_deltas_arrive_before_a_result_with_highlighted_fixed_code_and_diff(client):
    r = stream_fix(client, error="SyntaxError: expected ':'", language="python")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-store"
    events = parse_events(r.text)
    assert names(events) == ["delta", "result"]
    assert events[0][1] == {"text": "Added the missing colon."}
    result = events[-1][1]
    assert result["status"] == "fixed"
    assert result["fixed_code"] == FIXED
    assert "+def f():" in result["diff"]
    html = result["html"]
    assert 'id="fixed-code"' in html and '<span class="k">def</span>' in html
    assert 'id="diff"' in html and '<td class="line added">' in html
    assert '<span class="p">():</span>' in html  # the fixed line, highlighted, in the diff
    assert f'href="{result["url"]}"' in html


def test_result_event_counts_the_free_fix_on_the_visitor_cookie_the_page_set(client, app):
    page = client.get("/")
    assert "HttpOnly" in page.headers["set-cookie"]
    r = stream_fix(client)
    assert parse_events(r.text)[-1][1]["usage"] == {
        "used": 1,
        "limit": 3,
        "remaining": 2,
        "plan": "free",
    }
    visitor_id = app.state.ctx.cookies.read(client.cookies[VISITOR_COOKIE])
    assert visitor_id == app.state.ctx.cookies.read(page.cookies[VISITOR_COOKIE])
    assert remaining(app, visitor_id) == 2
    again = parse_events(stream_fix(client).text)[-1][1]
    assert again["usage"]["remaining"] == 1
    assert count(app, UsageRecord) == 2


def test_openai_provider_streams_the_models_text_as_several_deltas(tmp_path, fake):
    with TestClient(openai_app(tmp_path, fake)) as client:
        events = parse_events(stream_fix(client, error="SyntaxError: expected ':'").text)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 1
    # Only the explanation streams: the fixed program comes with the settled result.
    assert "".join(deltas).strip() == GOOD.split("\n\n")[0].removeprefix("### Explanation\n")
    assert names(events)[-1] == "result"
    result = events[-1][1]
    assert result["status"] == "fixed" and result["fixed_code"] == FIXED
    assert (result["provider"], result["model"]) == ("openai", "test-model")
    assert fake.request_count == 1
    assert fake.requests[0]["stream"] is True


# -- refusals before the stream ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "error", "words"),
    [
        ({"code": ""}, 422, "invalid_input", "code is empty"),
        ({"code": "x = 1\x00"}, 422, "invalid_input", "NUL"),
        ({"code": "x = 1", "language": "klingon"}, 422, "invalid_input", "klingon"),
        ({"code": "x" * 20_001}, 413, "input_too_large", "20,000"),
    ],
)
def test_bad_input_is_refused_with_json_before_any_stream(
    client, app, fields, status, error, words
):
    r = client.post("/fix/stream", data={"csrf_token": csrf_token(client), **fields}, headers=SSE)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] == error
    assert words in r.json()["message"]
    assert count(app, Trial) == 0


def test_stream_without_the_pages_form_token_is_refused_and_reserves_nothing(client, app):
    client.get("/")
    r = client.post("/fix/stream", data={"code": BROKEN}, headers=SSE)
    assert r.status_code == 403
    assert r.json()["error"] == "csrf_failed"
    assert count(app, Trial) == 0


def test_stream_is_refused_with_402_json_once_the_free_fixes_are_used(client):
    for _ in range(3):
        remaining_after_an_api_fix(client)
    r = stream_fix(client)
    assert r.status_code == 402
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"] == "quota_exhausted"
    assert r.json()["pricing_url"] == "/pricing"


# -- failures during the stream ----------------------------------------------------------


@pytest.mark.parametrize(
    "provider",
    [lambda: ScriptedProvider(failing()), lambda: ChunkedProvider("Looking at line 1", failing())],
    ids=["before-any-text", "after-some-text"],
    indirect=True,
)
def test_provider_failure_mid_stream_is_an_error_event_and_costs_nothing(client, app):
    r = stream_fix(client)
    assert r.status_code == 200
    events = parse_events(r.text)
    assert names(events)[-1] == "error"
    assert "result" not in names(events)
    assert events[-1][1]["error"] == "provider_unavailable"
    assert "no free fix was used" in events[-1][1]["message"]
    assert remaining_after_an_api_fix(client) == 2
    assert count(app, UsageRecord) == 1


@pytest.mark.parametrize(
    "provider", [lambda: ScriptedProvider(reply("def f(:\n"), reply(FIXED))], indirect=True
)
def test_failed_verification_sends_a_retry_event_then_the_result(client, provider):
    events = parse_events(stream_fix(client).text)
    assert names(events) == ["delta", "retry", "delta", "result"]
    assert "SyntaxError" in events[1][1]["message"]
    assert events[-1][1]["status"] == "fixed"
    assert events[-1][1]["fixed_code"] == FIXED
    assert events[-1][1]["usage"]["remaining"] == 2
    assert provider.prompts[1].feedback == events[1][1]["message"]


# -- the visitor hangs up ----------------------------------------------------------------


def wait_until(condition: Callable[[], bool], within_s: float = 5) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def hang_up_early(
    app: FastAPI, *, after: str | None = None, once: Callable[[], bool] | None = None
) -> str:
    """Open the stream over real HTTP and close it early: after the text ``after``, or
    once ``once()`` holds, or as soon as the headers arrive.

    Returns the visitor id, having checked the free fix was held while the stream ran.
    """
    with (
        serve(app) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream(
            "POST",
            "/fix/stream",
            data={"csrf_token": csrf_token(http), "code": BROKEN},
            headers=SSE,
        ) as r,
    ):
        assert r.status_code == 200
        visitor_id = app.state.ctx.cookies.read(http.cookies[VISITOR_COOKIE])
        assert visitor_id is not None
        if after is not None:
            received = ""
            chunks = r.iter_text()
            while after not in received:
                received += next(chunks)
        if once is not None:
            assert wait_until(once)
        assert remaining(app, visitor_id) == 2
        r.close()
        assert wait_until(lambda: remaining(app, visitor_id) == 3), "the free fix was kept"
    return visitor_id


@pytest.mark.parametrize("provider", [lambda: ScriptedProvider(("sleep", 10))], indirect=True)
def test_hanging_up_before_any_text_gives_the_free_fix_back(app):
    hang_up_early(app)
    assert count(app, UsageRecord) == 0


@pytest.mark.parametrize(
    "provider", [lambda: ChunkedProvider("Reading your code.\n", ("sleep", 10))], indirect=True
)
def test_hanging_up_after_the_first_delta_gives_the_free_fix_back(app):
    hang_up_early(app, after="event: delta")
    assert count(app, UsageRecord) == 0


def test_hanging_up_on_a_slow_llm_gives_the_free_fix_back(tmp_path, fake):
    fake.script([Delay(10, GOOD)])
    app = openai_app(tmp_path, fake)
    hang_up_early(app, once=lambda: fake.request_count == 1)
    assert count(app, UsageRecord) == 0
