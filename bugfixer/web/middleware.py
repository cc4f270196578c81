"""Pure ASGI middleware (cheap on the hot path, safe with streaming responses)."""

from __future__ import annotations

import html
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
# Swagger UI sets inline styles; scripts stay same-origin everywhere.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class SecurityHeaders:
    """Request ids, security headers, and a cap on request body size."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, limits_note: str = "") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limits_note = limits_note

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
                await self._too_large(scope, send, rid)
                return
            csp = DOCS_CSP if scope["path"] == "/docs" else CSP
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

    async def _too_large(self, scope: Scope, send: Send, rid: str) -> None:
        """Refused before the body is read, so it names the limits the user can act on."""
        message = (
            f"The request is larger than the limit of {self.max_body_bytes:,} bytes. "
            + self.limits_note
        ).strip()
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
        if "text/html" in accept:
            content_type = b"text/html; charset=utf-8"
            body = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                "<title>Too large · Code Bug Fixer</title></head><body><main>"
                f"<h1>Too large</h1><p>{html.escape(message)}</p>"
                '<p><a href="/">Back to the fixer</a></p></main></body></html>'
            ).encode()
        else:
            content_type = b"application/json"
            body = json.dumps({"error": "input_too_large", "message": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
