"""Any OpenAI-compatible Chat Completions endpoint: OpenAI, Azure, Ollama, vLLM, llama.cpp, ...

The only module that imports the ``openai`` SDK. Its built-in retries (5xx, 429,
timeouts, dropped connections, with backoff) are bounded by ``llm_max_retries``; every
failure that remains becomes a ProviderError whose message never contains the API key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bugfixer.fixing.parsing import parse_reply
from bugfixer.fixing.prompts import build_messages
from bugfixer.fixing.providers.base import (
    FixPrompt,
    Provider,
    ProviderError,
    ProviderReply,
    clean_text,
    register,
)
from bugfixer.observability.metrics import LlmCall

if TYPE_CHECKING:
    from bugfixer.config import Settings
    from bugfixer.sandbox import Sandbox

logger = logging.getLogger(__name__)

# Hundreds of fixes may wait on the endpoint at once; they share one connection pool.
MAX_CONNECTIONS = 1000
MAX_KEEPALIVE_CONNECTIONS = MAX_CONNECTIONS
# Opening connections costs the event loop more than the whole rest of a fix: keep them.
KEEPALIVE_EXPIRY_S = 60.0


@register("openai")
class OpenAICompatibleProvider(Provider):
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str,
        timeout_s: float,
        max_retries: int,
        max_tokens: int = 8192,
    ) -> None:
        self.model = model
        self._max_tokens = max_tokens
        self._api_key = api_key
        self._timeout_s = timeout_s
        # aiohttp as the transport: the SDK recommends it for high concurrency, where
        # the default pool spends its time rescanning connections. The SDK's own
        # Limits type is used (httpx or httpx2, depending on the SDK version).
        limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        )
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout_s,
            max_retries=max_retries,
            http_client=openai.DefaultAioHttpClient(limits=limits),
        )
        url = urlsplit(str(self._client.base_url))
        self._endpoint = f"{url.scheme}://{url.hostname}" + (f":{url.port}" if url.port else "")
        # Options this server rejected (older local servers, reasoning models).
        self._unsupported: set[str] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, sandbox: Sandbox | None = None
    ) -> OpenAICompatibleProvider:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        return cls(
            base_url=settings.llm_base_url or None,
            api_key=key or "not-needed",
            model=settings.llm_model,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
        )

    async def complete(self, prompt: FixPrompt) -> ProviderReply:
        with LlmCall(self.name, self.model) as call:
            return call.answered(await self._complete(prompt))

    async def stream(self, prompt: FixPrompt) -> AsyncIterator[str | ProviderReply]:
        with LlmCall(self.name, self.model) as call:
            async for item in self._stream(prompt):
                if isinstance(item, ProviderReply):
                    call.answered(item)
                yield item

    async def _complete(self, prompt: FixPrompt) -> ProviderReply:
        data = await self._create(prompt, stream=False)
        # Nothing checked what was sent: every field may have any shape.
        choices = data.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise self._error("the LLM endpoint answered without any choices")
        content, refusal = message.get("content"), message.get("refusal")
        finish_reason = choice.get("finish_reason")  # type: ignore[union-attr]
        for name, value in (("content", content), ("refusal", refusal)):
            if value is not None and not isinstance(value, str):
                raise self._error(
                    f"the LLM endpoint sent a malformed answer ({name} is "
                    f"{type(value).__name__}, not text)"
                )
        text = content or ""
        if not text.strip():
            if refusal:
                return ProviderReply(refusal, None, _model_of(data) or self.model)
            raise self._error(f"the LLM endpoint returned an empty answer ({finish_reason})")
        if finish_reason == "length":
            logger.warning("LLM answer from %s was cut off at the token limit", self._endpoint)
        return self._reply(text, prompt, _model_of(data), _usage_of(data))

    async def complete_many(self, prompt: FixPrompt, n: int) -> list[ProviderReply]:
        """Several answers in one request (``n``); servers without ``n`` are asked n times."""
        if n <= 1 or "n" in self._unsupported:
            return await super().complete_many(prompt, n)
        with LlmCall(self.name, self.model) as call:
            data = await self._create(prompt, stream=False, n=n)
        replies: list[ProviderReply] = []
        usage = _usage_of(data)
        if usage is not None:
            call.answered(usage)
        choices = data.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            message = choice.get("message") if isinstance(choice, dict) else None
            text = message.get("content") if isinstance(message, dict) else None
            if isinstance(text, str) and text.strip():
                # The request's tokens are counted once, on its first answer.
                replies.append(
                    self._reply(text, prompt, _model_of(data), None if replies else usage)
                )
        if len(replies) < n:
            if not replies:
                logger.info("%s ignored n=%d; asking %d times instead", self._endpoint, n, n)
                self._unsupported.add("n")
            replies += await super().complete_many(prompt, n - len(replies))
        return replies[:n]

    async def _stream(self, prompt: FixPrompt) -> AsyncIterator[str | ProviderReply]:
        chunks = await self._create(prompt, stream=True)
        parts: list[str] = []
        model, usage = None, None
        try:
            async for chunk in chunks:
                model = getattr(chunk, "model", None) or model
                usage = getattr(chunk, "usage", None) or usage
                for choice in getattr(chunk, "choices", None) or []:
                    delta = choice.delta.content if choice.delta else None
                    if delta is not None and not isinstance(delta, str):
                        raise self._error(
                            f"the LLM endpoint sent a malformed answer (content is "
                            f"{type(delta).__name__}, not text)"
                        )
                    if choice.index == 0 and delta:
                        parts.append(delta)
                        yield delta
        except ProviderError:
            raise
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except Exception as exc:  # the SDK lets transport errors through mid-stream
            raise self._error(
                f"the LLM endpoint broke off the answer ({type(exc).__name__})"
            ) from None
        finally:
            await chunks.close()
        text = "".join(parts)
        if not text.strip():
            raise self._error("the LLM endpoint returned an empty answer")
        yield self._reply(text, prompt, model, usage)

    async def aclose(self) -> None:
        await self._client.close()

    # -- internals ---------------------------------------------------------------------

    async def _create(self, prompt: FixPrompt, *, stream: bool, n: int = 1) -> Any:
        """One Chat Completions call; an option the server rejects is dropped and retried once."""
        dropped: set[str] = set()
        while True:
            # Several candidates need some variety; one answer is best taken greedily.
            options: dict[str, Any] = {"temperature": 0} if n == 1 else {"temperature": 0.7, "n": n}
            options["max_tokens"] = self._max_tokens
            if stream:
                options.update(stream=True, stream_options={"include_usage": True})
            for name in self._unsupported | dropped:
                options.pop(name, None)
            started = time.monotonic()
            try:
                # The SDK's documented low-level call: same retries, auth and errors as
                # chat.completions.create, without re-validating a body we built ourselves
                # (that step was a sixth of the server's CPU at 500 concurrent fixes).
                # A whole answer comes back as bytes, parsed here: building the SDK's
                # model of it cost more than the rest of reading it.
                response = await self._client.post(
                    "/chat/completions",
                    body={"model": self.model, "messages": build_messages(prompt), **options},
                    cast_to=ChatCompletion if stream else bytes,
                    stream=stream,
                    stream_cls=openai.AsyncStream[ChatCompletionChunk],
                )
            except openai.BadRequestError as exc:
                rejected = _rejected_option(exc, options)
                if rejected is None:
                    raise self._status_error(exc) from None
                logger.info("%s rejected %s; retrying without it", self._endpoint, rejected)
                dropped.add(rejected)
                continue
            except openai.APIStatusError as exc:
                raise self._status_error(exc) from None
            except openai.APITimeoutError:
                if time.monotonic() - started < self._timeout_s / 2:
                    # The aiohttp transport reports a refused connection as a timeout.
                    raise self._error(
                        f"could not reach the LLM endpoint at {self._endpoint}"
                    ) from None
                raise self._error(
                    f"the LLM endpoint at {self._endpoint} did not answer within "
                    f"{self._timeout_s:g} s"
                ) from None
            except openai.APIConnectionError:
                raise self._error(f"could not reach the LLM endpoint at {self._endpoint}") from None
            except (openai.OpenAIError, ValueError) as exc:
                raise self._error(
                    f"the LLM endpoint sent a malformed answer ({type(exc).__name__})"
                ) from None
            if not stream:
                response = self._json(response)
            self._unsupported |= dropped
            return response

    def _json(self, body: object) -> dict[str, Any]:
        try:
            data = json.loads(body) if isinstance(body, bytes | str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._error("the LLM endpoint answered with something other than JSON")
        return data

    def _reply(self, text: str, prompt: FixPrompt, model: Any, usage: Any) -> ProviderReply:
        parsed = parse_reply(clean_text(text), prompt.language)
        return ProviderReply(
            explanation=parsed.explanation,
            fixed_code=parsed.fixed_code,
            model=model if isinstance(model, str) and model.strip() else self.model,
            prompt_tokens=_tokens(usage, "prompt_tokens"),
            completion_tokens=_tokens(usage, "completion_tokens"),
        )

    def _status_error(self, exc: openai.APIStatusError) -> ProviderError:
        status = exc.status_code
        if status == 401:
            reason = "rejected the API key"
        elif status == 403:
            reason = "refused access with this API key"
        elif status == 404:
            reason = f"does not know the model {self.model!r} (or the base URL is wrong)"
        elif status == 429:
            reason = "is rate limiting or out of quota"
        elif status >= 500:
            reason = "failed"
        else:
            reason = f"rejected the request: {str(exc.message)[:200]}"
        return self._error(f"the LLM endpoint at {self._endpoint} {reason} (HTTP {status})")

    def _error(self, message: str) -> ProviderError:
        if self._api_key and len(self._api_key) >= 4:
            message = message.replace(self._api_key, "***")
        logger.warning("LLM request failed: %s", message)
        return ProviderError(message)


def _rejected_option(exc: openai.BadRequestError, options: dict[str, Any]) -> str | None:
    """The optional parameter a 400 most likely objects to, if any is left to drop."""
    if "stream_options" in options:
        return "stream_options"
    if "n" in options:
        return "n"
    if "temperature" in options and "temperature" in str(exc.message).lower():
        return "temperature"
    if "max_tokens" in options and "max_tokens" in str(exc.message).lower():
        return "max_tokens"
    return None


class _Usage:
    """The token counts of a JSON ``usage`` object, read like the SDK's."""

    __slots__ = ("completion_tokens", "prompt_tokens")

    def __init__(self, usage: dict[str, Any]) -> None:
        self.prompt_tokens = usage.get("prompt_tokens")
        self.completion_tokens = usage.get("completion_tokens")


def _usage_of(data: dict[str, Any]) -> _Usage | None:
    usage = data.get("usage")
    return _Usage(usage) if isinstance(usage, dict) else None


def _model_of(data: dict[str, Any]) -> str | None:
    model = data.get("model")
    return model if isinstance(model, str) else None


def _tokens(usage: Any, name: str) -> int:
    """A token count as a non-negative int, whatever the endpoint sent."""
    value = getattr(usage, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
