"""devstripe: a built-in Stripe emulator for offline development and tests.

It speaks the subset of the Stripe REST API the product uses, in the official
response shapes, so the real ``stripe`` SDK can be pointed at it::

    app.mount("/_stripe", create_app(db_path=..., webhook_secret="whsec_..."))
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": base + "/_stripe"})

It also serves a hosted Checkout page and a Customer Portal page (both labelled
TEST MODE), delivers signed webhooks, and offers test controls under ``/_test/``.
Self-contained on purpose: nothing here imports the rest of ``bugfixer``.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.types import ASGIApp

from .api import api_routes
from .controls import control_routes
from .emulator import Emulator
from .pages import page_routes
from .webhooks import RETRY_DELAYS, sign

__all__ = ["RETRY_DELAYS", "create_app", "sign"]


def create_app(
    *, db_path: str | Path, webhook_secret: str, webhook_url: str | None = None
) -> ASGIApp:
    """The emulator as an ASGI app, with its state in the SQLite file ``db_path``.

    Webhooks are signed with ``webhook_secret`` and posted to ``webhook_url``; when
    that is None, the URL is the ``/stripe/webhook`` route beside the mount point,
    learnt from the first API request (``http://host/_stripe`` →
    ``http://host/stripe/webhook``).
    """
    emulator = Emulator(db_path=db_path, webhook_secret=webhook_secret, webhook_url=webhook_url)
    app = Starlette(
        routes=[*api_routes(emulator), *page_routes(emulator), *control_routes(emulator)]
    )
    app.state.devstripe = emulator
    return app
