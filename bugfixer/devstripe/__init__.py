"""devstripe: a built-in Stripe emulator for offline development and tests.

It speaks the subset of the Stripe REST API the product uses, in the official
response shapes, so the real ``stripe`` SDK can be pointed at it::

    app.mount("/_stripe", create_app(db_path=..., webhook_secret="whsec_...", api_key=KEY))
    client = stripe.StripeClient(KEY, base_addresses={"api": base + "/_stripe"})

It also serves a hosted Checkout page and a Customer Portal page (both labelled
TEST MODE), delivers signed webhooks, and offers test controls under ``/_test/``.

Who may use what: the API (``/v1``) and the test controls answer only loopback peers,
and the API only with ``api_key``; the hosted pages are what a shopper's browser visits,
so they answer anyone who has a page's unguessable id (as Stripe's own do).
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
    *, db_path: str | Path, webhook_secret: str, api_key: str, webhook_url: str | None = None
) -> ASGIApp:
    """The emulator as an ASGI app, with its state in the SQLite file ``db_path``.

    The API accepts exactly ``api_key`` (a secret per instance: with any ``sk_test_``
    key, anyone could list the customers). Webhooks are signed with ``webhook_secret``
    and posted to ``webhook_url``; when that is None, the URL is the ``/stripe/webhook``
    route beside the mount point, on the address the first API request came in on
    (the server's own, never the Host header a client chose).
    """
    emulator = Emulator(
        db_path=db_path, webhook_secret=webhook_secret, webhook_url=webhook_url, api_key=api_key
    )
    app = Starlette(
        routes=[*api_routes(emulator), *page_routes(emulator), *control_routes(emulator)]
    )
    app.state.devstripe = emulator
    return app
