"""What the request observer (request id, Server-Timing, metrics, access log) costs per request.

Calls ASGI apps directly, without a server or network, so the difference is the layer's
own CPU time: a bare app, the same app inside RequestObserver with the access log off,
with the text access log and with the JSON access log (both written to /dev/null), and
the whole product's `GET /healthz` and `GET /` with and without the layer. Nothing is
asserted.

    .venv/bin/python bench/bench_observer.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path

from bugfixer.config import Settings
from bugfixer.main import create_app
from bugfixer.observability.http import RequestObserver
from bugfixer.observability.logs import JsonFormatter, RequestIdFilter, TextFormatter


async def bare_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def scope_for(path: str, app: object = None) -> dict:  # type: ignore[type-arg]
    return {
        "app": app,
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench/1"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def per_request_us(app, path: str, n: int, owner: object = None) -> float:  # type: ignore[no-untyped-def]
    async def receive() -> dict:  # type: ignore[type-arg]
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message) -> None:  # type: ignore[no-untyped-def]
        pass

    for _ in range(min(n // 10, 500)):
        await app(scope_for(path, owner), receive, send)
    started = time.process_time()
    for _ in range(n):
        await app(scope_for(path, owner), receive, send)
    return (time.process_time() - started) / n * 1e6


def access_log_to_devnull(formatter: logging.Formatter | None) -> None:
    access = logging.getLogger("bugfixer.access")
    access.handlers.clear()
    access.propagate = False
    if formatter is None:
        access.setLevel(logging.WARNING)
        return
    access.setLevel(logging.INFO)
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter)
    access.addHandler(handler)


async def main(n: int) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    observed = RequestObserver(bare_app, hash_key="bench")
    base = await per_request_us(bare_app, "/", n)
    print(f"bare ASGI app                      {base:7.1f} µs/request")
    for label, formatter in (("off", None), ("text", TextFormatter()), ("json", JsonFormatter())):
        access_log_to_devnull(formatter)
        cost = await per_request_us(observed, "/", n) - base
        print(f"+ RequestObserver, access log {label:4} {cost:7.1f} µs/request")

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            env="test",
            instance_dir=Path(tmp),
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            llm_provider="builtin",
        )
        app = create_app(settings)
        # The same stack without the layer: the app's next layer down.
        app.build_middleware_stack()
        for path in ("/healthz", "/"):
            for label, formatter in (("off", None), ("json", JsonFormatter())):
                access_log_to_devnull(formatter)
                whole = await per_request_us(app, path, n // 4)
                print(f"product GET {path:9} access log {label:4}  {whole:7.1f} µs/request")
        access_log_to_devnull(None)
        stack = app.middleware_stack
        while stack is not None and not isinstance(stack, RequestObserver):
            stack = getattr(stack, "app", None)
        if stack is not None:
            inner = stack.app
            for path in ("/healthz", "/"):
                with_layer = await per_request_us(stack, path, n // 4, app)
                without = await per_request_us(inner, path, n // 4, app)
                print(
                    f"product GET {path:9} observer (log off)  {with_layer - without:7.1f} µs "
                    f"of {with_layer:.1f} µs/request"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    asyncio.run(main(parser.parse_args().requests))
