"""Pure ASGI middleware (cheap on the hot path, safe with streaming responses)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
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
        self.csp = content_security_policy(form_targets=form_targets)
        # Swagger UI sets inline styles; scripts stay same-origin everywhere.
        self.relaxed_csp = content_security_policy(form_targets=form_targets, inline_styles=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.relaxed_csp if scope["path"] == "/docs" else self.csp
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", csp)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
                headers["X-Frame-Options"] = "DENY"
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)
