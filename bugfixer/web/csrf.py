"""CSRF protection for forms: a signed double-submit token.

Every browser gets a random token in a signed cookie; each form carries it in a hidden
field, or in the ``X-CSRF-Token`` header when the page's JavaScript sends it. Another
site can make a browser send the cookie but cannot read it, so it cannot fill in either.
The JSON API does not use forms: it accepts only application/json, which a cross-site
form cannot send, and no CORS is offered.

The token is checked before a form is parsed wherever it can be: a multipart body
(which the parser spools to disk) is accepted only with a valid header, checked
before a byte of the body is read; a URL-encoded form is parsed only up to the route's
byte limit (``web/limits.py``).
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie

from fastapi import Request
from itsdangerous import BadSignature, Signer
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bugfixer.errors import AppError
from bugfixer.web.errors import error_response

CSRF_COOKIE = "bf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Not this app's forms: the emulator's API and pages, and Stripe's signed webhook.
_NOT_FORMS = ("/_stripe/", "/stripe/")


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
        if _unchecked_multipart(scope, token, fresh):
            refusal = error_response(Request(scope, receive), _failed())
            await refusal(scope, receive, send)
            return

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


def _unchecked_multipart(scope: Scope, token: str, fresh: bool) -> bool:
    """A multipart form post without a valid X-CSRF-Token header: refused unread."""
    if scope["method"] in SAFE_METHODS or scope["path"].startswith(_NOT_FORMS):
        return False
    headers = Headers(scope=scope)
    if not headers.get("content-type", "").lower().startswith("multipart/"):
        return False
    sent = headers.get(CSRF_HEADER)
    return fresh or not sent or not hmac.compare_digest(token, sent)


def _failed() -> CsrfFailed:
    return CsrfFailed(
        "This form has expired or was sent from another site. Reload the page and try again."
    )


async def require_csrf(request: Request) -> None:
    """Dependency for every state-changing form: 403 and no change without the token."""
    state = request.scope.get("state", {})
    expected = state.get("csrf_token")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_urlencoded(request):
        # Bounded by the route's byte limit; multipart never gets here without the header.
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not (expected and sent and state.get("csrf_verified_cookie")) or not hmac.compare_digest(
        expected, sent
    ):
        raise _failed()


def _is_urlencoded(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/x-www-form-urlencoded"
