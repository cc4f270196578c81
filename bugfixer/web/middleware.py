"""Pure ASGI middleware (cheap on the hot path, safe with streaming responses)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bugfixer import timing

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# Swagger UI and the Stripe emulator's pages use inline styles; scripts stay same-origin.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class SecurityHeaders:
    """Request ids, security headers, and a cap on request body size."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        token = request_id_var.set(rid)
        timings = timing.begin()
        started = time.perf_counter()
        try:
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await self._too_large(send, rid)
                return
            relaxed = scope["path"] == "/docs" or scope["path"].startswith("/_stripe/")
            csp = DOCS_CSP if relaxed else CSP
            https = scope.get("scheme") == "https"

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    headers.setdefault("Content-Security-Policy", csp)
                    headers["X-Content-Type-Options"] = "nosniff"
                    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
                    headers["X-Frame-Options"] = "DENY"
                    headers["X-Request-ID"] = rid
                    headers["Server-Timing"] = timing.header((time.perf_counter() - started) * 1000)
                    if https:
                        headers["Strict-Transport-Security"] = "max-age=31536000"
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            timing.end(timings)
            request_id_var.reset(token)

    async def _too_large(self, send: Send, rid: str) -> None:
        body = json.dumps(
            {
                "error": "input_too_large",
                "message": f"The request body is over the limit of {self.max_body_bytes:,} bytes.",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
