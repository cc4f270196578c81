"""The openai provider, with the real SDK, against a local OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bugfixer.config import Settings
from bugfixer.fixing.prompts import build_messages, fenced
from bugfixer.fixing.providers import FixPrompt, ProviderError, ProviderReply
from bugfixer.fixing.providers.openai_compatible import OpenAICompatibleProvider
from tests.support.fake_llm import DROP, Delay, Error, FakeLLM

KEY = "sk-test-123"
PROMPT = FixPrompt(
    code="def greet(name):\n    print('Hello, ' + nme)\n",
    error="NameError: name 'nme' is not defined",
    language="python",
)
GOOD = (
    "### Explanation\n"
    "`nme` is a typo for the parameter `name`.\n\n"
    "### Fixed code\n"
    "```python\n"
    "def greet(name):\n"
    "    print('Hello, ' + name)\n"
    "```\n"
)
FIXED = "def greet(name):\n    print('Hello, ' + name)\n"
QUICK_RETRY = {"retry-after-ms": "10"}


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(GOOD) as server:
        yield server


def make_settings(base_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "llm_provider": "openai",
        "llm_base_url": base_url,
        "llm_api_key": KEY,
        "llm_model": "test-model",
        "llm_timeout_s": 2,
        "llm_max_retries": 1,
        "instance_dir": tmp_path,
    }
    return Settings(_env_file=None, **{**values, **overrides})


def complete(settings: Settings, prompt: FixPrompt = PROMPT) -> ProviderReply:
    async def go() -> ProviderReply:
        provider = OpenAICompatibleProvider.from_settings(settings)
        try:
            return await provider.complete(prompt)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def stream(settings: Settings, prompt: FixPrompt = PROMPT) -> list[str | ProviderReply]:
    async def go() -> list[str | ProviderReply]:
        provider = OpenAICompatibleProvider.from_settings(settings)
        try:
            return [item async for item in provider.stream(prompt)]
        finally:
            await provider.aclose()

    return asyncio.run(go())


def failure(settings: Settings, prompt: FixPrompt = PROMPT) -> str:
    with pytest.raises(ProviderError) as caught:
        complete(settings, prompt)
    return str(caught.value)


def test_provider_is_registered_as_openai(fake: FakeLLM, tmp_path: Path) -> None:
    from bugfixer.fixing.providers import build_provider, provider_names

    assert "openai" in provider_names()
    settings = make_settings(fake.base_url, tmp_path)
    assert settings.llm_provider == "openai"
    assert type(build_provider(settings)) is OpenAICompatibleProvider


def test_good_reply_is_parsed_and_tokens_are_counted(fake: FakeLLM, tmp_path: Path) -> None:
    reply = complete(make_settings(fake.base_url, tmp_path))

    assert reply.fixed_code == FIXED
    assert reply.explanation == "`nme` is a typo for the parameter `name`."
    assert reply.model == "test-model"
    assert reply.prompt_tokens > 0
    assert reply.completion_tokens > 0
    assert fake.request_count == 1
    body = fake.requests[0]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0
    assert body["max_tokens"] == 8192  # BUGFIXER_LLM_MAX_TOKENS's default
    assert "stream" not in body
    user = body["messages"][-1]["content"]
    assert PROMPT.code.strip() in user
    assert PROMPT.error in user


def test_each_fix_is_exactly_one_http_request(fake: FakeLLM, tmp_path: Path) -> None:
    settings = make_settings(fake.base_url, tmp_path)
    complete(settings)
    complete(settings)
    assert fake.request_count == 2


def test_chatter_around_the_fence_stays_out_of_the_code(fake: FakeLLM, tmp_path: Path) -> None:
    fake.reply_with(
        "Sure! The variable name is misspelled.\n\nHere is the corrected code:\n\n"
        f"```python\n{FIXED}```\n\nHope this helps!"
    )
    reply = complete(make_settings(fake.base_url, tmp_path))
    assert reply.fixed_code == FIXED
    assert reply.explanation == "The variable name is misspelled."


def test_default_fixer_echoes_the_code_in_the_requested_format(tmp_path: Path) -> None:
    with FakeLLM() as server:
        reply = complete(make_settings(server.base_url, tmp_path))
    assert reply.fixed_code == PROMPT.code
    assert "fake model" in reply.explanation


def test_a_500_is_retried_and_then_succeeds(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(500, headers=QUICK_RETRY)])
    reply = complete(make_settings(fake.base_url, tmp_path))
    assert reply.fixed_code == FIXED
    assert fake.request_count == 2


def test_persistent_500_fails_after_all_retries(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(500, headers=QUICK_RETRY)] * 5)
    message = failure(make_settings(fake.base_url, tmp_path, llm_max_retries=2))
    assert "HTTP 500" in message
    assert fake.request_count == 3


def test_first_retry_waits_for_the_sdk_backoff(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(503)])
    reply = complete(make_settings(fake.base_url, tmp_path))
    assert reply.fixed_code == FIXED
    assert fake.request_count == 2


def test_401_fails_at_once_and_never_shows_the_key(
    fake: FakeLLM, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.script([Error(401, message=f"Incorrect API key provided: {KEY}")])
    message = failure(make_settings(fake.base_url, tmp_path, llm_max_retries=2))
    assert "rejected the API key" in message
    assert "HTTP 401" in message
    assert KEY not in message
    assert KEY not in caplog.text
    assert fake.request_count == 1


def test_unknown_model_names_the_model(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(404, message="model not found")])
    message = failure(make_settings(fake.base_url, tmp_path))
    assert "'test-model'" in message
    assert fake.request_count == 1


def test_rate_limit_is_retried_then_reported(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(429, headers=QUICK_RETRY)] * 2)
    message = failure(make_settings(fake.base_url, tmp_path))
    assert "rate limiting" in message
    assert fake.request_count == 2


def test_slow_server_times_out(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Delay(1.5)])
    message = failure(make_settings(fake.base_url, tmp_path, llm_timeout_s=0.2, llm_max_retries=0))
    assert "did not answer within 0.2 s" in message


def test_nothing_listening_is_a_provider_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # reserved but not listening: connections are refused
        port = sock.getsockname()[1]
        settings = make_settings(f"http://127.0.0.1:{port}/v1", tmp_path, llm_max_retries=0)
        message = failure(settings)
    assert f"could not reach the LLM endpoint at http://127.0.0.1:{port}" in message


def test_dropped_connections_are_retried_then_reported(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([DROP, DROP])
    message = failure(make_settings(fake.base_url, tmp_path))
    assert "could not reach" in message
    assert fake.request_count == 2


@pytest.mark.parametrize(
    "broken",
    [
        Error(200, body="<html><body>Gateway</body></html>", content_type="text/html"),
        Error(200, body="this is not json"),
        Error(200, body='{"id": "x", "object": "chat.completion", "choices": []}'),
        Error(200, body='{"id": "x", "choices": [{"index": 0, "message": {"content": ""}}]}'),
    ],
    ids=["html", "not-json", "no-choices", "empty-content"],
)
def test_malformed_answers_are_provider_errors(
    fake: FakeLLM, tmp_path: Path, broken: Error
) -> None:
    fake.script([broken])
    message = failure(make_settings(fake.base_url, tmp_path))
    assert "LLM endpoint" in message


def test_server_rejecting_temperature_is_retried_without_it(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(400, message="Unsupported value: 'temperature' does not support 0")])
    reply = complete(make_settings(fake.base_url, tmp_path))
    assert reply.fixed_code == FIXED
    assert [("temperature" in body) for body in fake.requests] == [True, False]


def test_answers_are_bounded_by_the_max_tokens_setting(fake: FakeLLM, tmp_path: Path) -> None:
    complete(make_settings(fake.base_url, tmp_path, llm_max_tokens=600))
    assert fake.requests[0]["max_tokens"] == 600


def test_server_rejecting_max_tokens_is_retried_without_it(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(400, message="max_tokens is too large: this model allows at most 4096")])
    reply = complete(make_settings(fake.base_url, tmp_path))
    assert reply.fixed_code == FIXED
    assert [("max_tokens" in body) for body in fake.requests] == [True, False]


def test_other_bad_requests_are_not_retried(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(400, message="maximum context length exceeded")])
    message = failure(make_settings(fake.base_url, tmp_path))
    assert "maximum context length exceeded" in message
    assert fake.request_count == 1


def test_streaming_yields_text_then_the_parsed_reply(fake: FakeLLM, tmp_path: Path) -> None:
    items = stream(make_settings(fake.base_url, tmp_path))

    *texts, final = items
    assert len(texts) > 3
    assert all(isinstance(text, str) for text in texts)
    assert "".join(texts) == GOOD  # type: ignore[arg-type]
    assert isinstance(final, ProviderReply)
    assert final.fixed_code == FIXED
    assert final.explanation == "`nme` is a typo for the parameter `name`."
    assert final.model == "test-model"
    assert final.prompt_tokens > 0
    assert final.completion_tokens > 0
    assert fake.request_count == 1
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["stream_options"] == {"include_usage": True}


def test_streaming_works_when_the_server_rejects_stream_options(tmp_path: Path) -> None:
    with FakeLLM(GOOD, reject_stream_options=True) as server:
        settings = make_settings(server.base_url, tmp_path)

        async def twice() -> list[ProviderReply]:
            provider = OpenAICompatibleProvider.from_settings(settings)
            try:
                first = [item async for item in provider.stream(PROMPT)][-1]
                second = [item async for item in provider.stream(PROMPT)][-1]
            finally:
                await provider.aclose()
            return [first, second]  # type: ignore[list-item]

        replies = asyncio.run(twice())
        bodies = server.requests

    assert all(reply.fixed_code == FIXED for reply in replies)
    assert replies[0].completion_tokens == 0  # no usage without stream_options
    # Rejected once, then remembered for the provider's lifetime.
    assert ["stream_options" in body for body in bodies] == [True, False, False]


def test_streaming_errors_are_provider_errors(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script([Error(503)] * 2)
    with pytest.raises(ProviderError, match="HTTP 503"):
        stream(make_settings(fake.base_url, tmp_path, llm_max_retries=0))


def test_repair_prompt_carries_the_feedback_and_previous_fix(fake: FakeLLM, tmp_path: Path) -> None:
    repair = FixPrompt(
        code=PROMPT.code,
        error=PROMPT.error,
        language="python",
        feedback="line 2: undefined name 'nam'",
        previous_fix="def greet(name):\n    print('Hello, ' + nam)\n",
    )
    complete(make_settings(fake.base_url, tmp_path), repair)

    user = fake.requests[0]["messages"][-1]["content"]
    assert "undefined name 'nam'" in user
    assert "print('Hello, ' + nam)" in user
    assert PROMPT.code.strip() in user
    assert "complete program" in user


def test_prompt_fences_survive_code_that_contains_fences() -> None:
    code = 'DOC = """\n```python\nx = 1\n```\n"""\n'
    user = build_messages(FixPrompt(code=code, error="", language="python"))[-1]["content"]
    assert fenced(code, "python") in user
    assert "````python\n" in user
    assert "none given" in user
