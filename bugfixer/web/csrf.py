"""CSRF protection for forms: a signed double-submit token.

Every browser gets a random token in a signed cookie; each form carries it in a hidden
field. Another site can make a browser send the cookie but cannot read it, so it cannot
fill in the field. The JSON API does not use forms: it accepts only application/json,
which a cross-site form cannot send, and no CORS is offered.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie

from fastapi import Request
from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bugfixer.errors import AppError

CSRF_COOKIE = "bf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfFailed(AppError):
    status = 403
    code = "csrf_failed"


class CsrfCookie:
    """Gives every page request a token (request.state.csrf_token), setting the cookie once."""

    def __init__(self, app: ASGIApp, *, secret: str) -> None:
        self.app = app
        self.signer = Signer(secret, salt="bugfixer.csrf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/api/", "/static/")):
            await self.app(scope, receive, send)
            return
        token = self._from_cookie(scope)
        fresh = token is None
        if fresh:
            token = secrets.token_urlsafe(24)
        state = scope.setdefault("state", {})
        state["csrf_token"] = token
        state["csrf_verified_cookie"] = not fresh

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                cookie = SimpleCookie()
                cookie[CSRF_COOKIE] = self.signer.sign(token).decode()
                morsel = cookie[CSRF_COOKIE]
                morsel["path"] = "/"
                morsel["httponly"] = True
                morsel["samesite"] = "Lax"
                if scope.get("scheme") == "https":
                    morsel["secure"] = True
                MutableHeaders(scope=message).append("set-cookie", morsel.OutputString())
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _from_cookie(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"cookie":
                jar = SimpleCookie()
                try:
                    jar.load(value.decode("latin-1"))
                except Exception:
                    return None
                if CSRF_COOKIE in jar:
                    try:
                        return self.signer.unsign(jar[CSRF_COOKIE].value).decode()
                    except BadSignature:
                        return None
        return None


async def require_csrf(request: Request) -> None:
    """Dependency for every state-changing form: 403 and no change without the token."""
    state = request.scope.get("state", {})
    expected = state.get("csrf_token")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not (expected and sent and state.get("csrf_verified_cookie")) or not hmac.compare_digest(
        expected, sent
    ):
        raise CsrfFailed(
            "This form has expired or was sent from another site. Reload the page and try again."
        )
