"""Pure ASGI middleware (cheap on the hot path, safe with streaming responses)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Where the checkout and billing-portal forms' 303 redirects go with real Stripe keys:
# Chromium applies form-action to the redirect target, so 'self' alone blocks paying.
STRIPE_FORM_TARGETS = ("https://checkout.stripe.com", "https://billing.stripe.com")


def content_security_policy(
    *, form_targets: tuple[str, ...] = (), inline_styles: bool = False
) -> str:
    """The CSP: everything same-origin, and forms may also lead to ``form_targets``."""
    style = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    form_action = " ".join(("'self'", *form_targets))
    return (
        f"default-src 'self'; script-src 'self'; style-src {style}; img-src 'self' data:; "
        f"connect-src 'self'; form-action {form_action}; base-uri 'self'; "
        "frame-ancestors 'none'; object-src 'none'"
    )


class SecurityHeaders:
    """Security headers on every response (request ids and timing: observability.http)."""

    def __init__(self, app: ASGIApp, *, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        # Built once as raw header pairs: this runs on every response.
        self.headers = _raw(content_security_policy(form_targets=form_targets))
        # Swagger UI sets inline styles; scripts stay same-origin everywhere.
        self.relaxed_headers = _raw(
            content_security_policy(form_targets=form_targets, inline_styles=True)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.relaxed_headers if scope["path"] == "/docs" else self.headers
        if scope.get("scheme") == "https":
            extra = [*extra, (b"strict-transport-security", b"max-age=31536000")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _raw(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
    ]
