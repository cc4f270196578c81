"""Request body limits, counted as the bytes arrive.

A ``Content-Length`` header can be missing (a chunked upload) or absent on purpose, so
checking it is not enough: the body is counted while the app reads it, and reading
stops at the route's limit with a 413 that names the limit. Nothing past the limit is
read, parsed or spooled to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bugfixer.errors import InputTooLarge
from bugfixer.web.errors import error_response

KIB = 1024
# Sign-in, sign-up, reset, account and billing forms: an email, a password, a token.
FORM_MAX_BYTES = 16 * KIB
# Stripe's events are well under 1 MB; the cap is checked before the signature.
WEBHOOK_MAX_BYTES = 1024 * KIB
# The emulator's API and hosted pages take a handful of form fields.
DEVSTRIPE_MAX_BYTES = 64 * KIB


class BodyTooLarge(HTTPException):
    """Raised by ``receive`` past the limit.

    An HTTPException, so FastAPI's body parsing passes it on unchanged and the app's
    error handler answers it (HTML or JSON) like any other error.
    """

    def __init__(self, limit: int, note: str = "") -> None:
        super().__init__(413, limit_message(limit, note))
        self.limit = limit


def limit_message(limit: int, note: str = "") -> str:
    """The limit in bytes, and what it means for what the user typed (``note``)."""
    return f"The request body is over the limit of {limit:,} bytes. {note}".strip()


@dataclass(frozen=True)
class BodyLimits:
    """Which limit applies to a path: exact paths first, then prefixes, then the default."""

    default: int = FORM_MAX_BYTES
    exact: dict[str, int] = field(default_factory=dict)
    prefixes: tuple[tuple[str, int], ...] = ()
    notes: dict[str, str] = field(default_factory=dict)  # the limits in characters, by path

    def for_path(self, path: str) -> int:
        if path in self.exact:
            return self.exact[path]
        for prefix, limit in self.prefixes:
            if path.startswith(prefix):
                return limit
        return self.default


class LimitBody:
    """Pure ASGI middleware enforcing ``BodyLimits`` on every HTTP request."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        note = self.limits.notes.get(scope["path"], "")
        length = _content_length(scope)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _refuse(scope, receive, send, limit, note)
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:  # never read on after refusing, whoever asks
                raise BodyTooLarge(limit, note)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge(limit, note)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, receive, send, limit, note)


def _content_length(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.decode("latin-1")
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int, note: str) -> None:
    message = limit_message(limit, note)
    response = error_response(Request(scope, receive), InputTooLarge(message))
    await response(scope, receive, send)
