"""A local OpenAI-compatible Chat Completions server for tests and benchmarks.

It speaks enough of the real protocol (JSON and SSE streaming, usage, error bodies)
that the real ``openai`` SDK can be pointed at it::

    with FakeLLM() as fake:
        fake.script(["### Explanation\\n...", Error(500), Delay(3, "too late"), Raw("{}"), DROP])
        settings = Settings(llm_base_url=fake.base_url, ...)

Run standalone for benchmarks: ``python -m tests.support.fake_llm --port 8001 --delay 0.5``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

ReplyFn = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Error:
    """Answer with this HTTP status and an OpenAI-style error body (or ``body`` verbatim)."""

    status: int
    message: str = "fake failure"
    body: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before answering with ``text`` (the default reply when None)."""

    seconds: float
    text: str | None = None


@dataclass(frozen=True)
class Raw:
    """Answer 200 with ``body`` verbatim: a completion (or, for a stream, the SSE text)
    of any shape at all, as a broken or hostile server might send."""

    body: str
    content_type: str = "application/json"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()
"""Start a response, then close the connection without finishing it."""

Item = str | Error | Delay | Raw | _Drop


def default_fixer(body: dict[str, Any], replace: tuple[str, str] | None = None) -> str:
    """Answer a fix request in the requested format, echoing the user's code unchanged
    (or with ``replace`` = (old, new) applied: a "fix" for benchmarks)."""
    user = next(
        (m.get("content") or "" for m in reversed(body.get("messages", [])) if m["role"] == "user"),
        "",
    )
    match = re.search(r"^(`{3,}|~{3,})([\w+#-]*)\n(.*?)\n?^\1[ \t]*$", user, re.M | re.S)
    if match is None:
        return "### Explanation\nI could not find any code in the request.\n"
    fence, language, code = match.groups()
    if replace is not None:
        code = code.replace(*replace)
    return (
        "### Explanation\n"
        "The fake model found nothing to change, so the code is returned as it was.\n\n"
        f"### Fixed code\n{fence}{language}\n{code}\n{fence}\n"
    )


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return len(text) // 4 + 1


class FakeLLM:
    """An OpenAI-compatible server on 127.0.0.1, in a background thread.

    Each request takes the next scripted item, or the default reply when the script is
    empty. ``reply`` is a fixed text or a function of the request body.
    """

    def __init__(
        self,
        reply: str | ReplyFn | None = None,
        *,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        reject_stream_options: bool = False,
        supports_n: bool = True,
        model: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.delay_s = delay_s
        self.chunk_delay_s = chunk_delay_s  # between streamed chunks, to watch text arrive
        self.reject_stream_options = reject_stream_options
        self.supports_n = supports_n
        self.model = model
        self.host = host
        self.port = port
        self._reply: str | ReplyFn = reply or default_fixer
        self._lock = threading.Lock()
        self._script: deque[Item] = deque()
        self._requests: list[dict[str, Any]] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/_stats", self._stats, methods=["GET"]),
            ]
        )

    # -- scripting ---------------------------------------------------------------------

    def reply_with(self, reply: str | ReplyFn) -> None:
        """Answer every unscripted request with ``reply``."""
        self._reply = reply

    def script(self, items: Iterable[Item]) -> None:
        """Queue items answered in order, one per request, before the default reply."""
        with self._lock:
            self._script.extend(items)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------------

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )

    def start(self) -> FakeLLM:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-llm"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by the CLI)."""
        config = self._config()
        config.host, config.port = self.host, self.port
        uvicorn.Server(config).run()

    # -- the API -----------------------------------------------------------------------

    async def _stats(self, request: Request) -> Response:
        """How many completions were asked for: benchmarks count LLM calls here."""
        return JSONResponse({"requests": self.request_count})

    async def _models(self, request: Request) -> Response:
        model = self.model or "fake-model"
        return JSONResponse({"object": "list", "data": [{"id": model, "object": "model"}]})

    async def _chat_completions(self, request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return _error_response(Error(400, "the body is not JSON"))
        with self._lock:
            self._requests.append(body)
            item: Item | None = self._script.popleft() if self._script else None
        delay = self.delay_s + (item.seconds if isinstance(item, Delay) else 0)
        if isinstance(item, Delay):
            item = item.text
        if delay and not await _wait_unless_gone(request, delay):
            return Response(status_code=499)  # nobody is listening any more
        if isinstance(item, Error):
            return _error_response(item)
        if isinstance(item, Raw):
            return Response(item.body, media_type=item.content_type)
        if item is DROP:
            return _dropped
        if body.get("stream") and body.get("stream_options") and self.reject_stream_options:
            return _error_response(Error(400, "Unrecognized request argument: stream_options"))
        text = item if isinstance(item, str) else self._default_text(body)
        texts = [text]
        n = int(body.get("n") or 1)
        if n > 1 and self.supports_n and not body.get("stream"):
            # Several choices in one answer: each takes the next scripted text.
            with self._lock:
                for _ in range(n - 1):
                    extra = self._script.popleft() if self._script else None
                    texts.append(extra if isinstance(extra, str) else self._default_text(body))
        model = self.model or body.get("model") or "fake-model"
        prompt_tokens = sum(count_tokens(str(m.get("content", ""))) for m in body["messages"])
        completion_tokens = sum(count_tokens(t) for t in texts)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _sse_chunks(text, model, usage if include_usage else None, self.chunk_delay_s),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": index,
                        "message": {"role": "assistant", "content": choice},
                        "finish_reason": "stop",
                    }
                    for index, choice in enumerate(texts)
                ],
                "usage": usage,
            }
        )

    def _default_text(self, body: dict[str, Any]) -> str:
        return self._reply if isinstance(self._reply, str) else self._reply(body)


async def _wait_unless_gone(request: Request, seconds: float) -> bool:
    """Sleep, but stop early (False) when the client hangs up, so shutdown is quick."""
    # With the body read, the next ASGI message can only be the disconnect.
    hang_up = asyncio.ensure_future(request.receive())
    done, _ = await asyncio.wait({hang_up}, timeout=seconds)
    if done:
        return False
    hang_up.cancel()
    return True


def _error_response(error: Error) -> Response:
    content = error.body
    if content is None:
        content = json.dumps(
            {"error": {"message": error.message, "type": "fake_error", "code": error.status}}
        )
    return Response(
        content, status_code=error.status, media_type=error.content_type, headers=error.headers
    )


async def _dropped(scope: Scope, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-', "more_body": True})
    # Returning without finishing makes uvicorn close the connection mid-response.


async def _sse_chunks(
    text: str, model: str, usage: dict[str, int] | None, chunk_delay_s: float = 0.0
) -> AsyncIterator[str]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        return f"data: {json.dumps({**base, 'choices': choices, **extra})}\n\n"

    yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}}])
    words = re.findall(r"\s*\S+\s*", text) or [text]
    for i in range(0, len(words), 4):
        piece = "".join(words[i : i + 4])
        yield event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        await asyncio.sleep(chunk_delay_s)
    yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    if usage is not None:
        yield event([], usage=usage)
    yield "data: [DONE]\n\n"


def main(argv: list[str] | None = None) -> None:
    """Serve the fake LLM (default fixer replies) until killed."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
    parser.add_argument("--port", type=int, default=8001, help="Port to listen on.")
    parser.add_argument("--delay", type=float, default=0.0, help="Seconds before each answer.")
    parser.add_argument("--model", default=None, help="Model name to report (default: echo).")
    parser.add_argument(
        "--replace",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="Answer with the user's code where OLD is replaced by NEW (a fix for benchmarks).",
    )
    args = parser.parse_args(argv)
    pair = tuple(args.replace) if args.replace else None
    fake = FakeLLM(
        (lambda body: default_fixer(body, pair)) if pair else None,  # type: ignore[arg-type]
        delay_s=args.delay,
        model=args.model,
        host=args.host,
        port=args.port,
    )
    print(f"fake LLM serving on {fake.base_url}", flush=True)
    fake.serve_forever()


if __name__ == "__main__":
    main()
