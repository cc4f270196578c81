"""devstripe served over HTTP, mounted at ``/_stripe`` next to a webhook receiver.

Everything goes through the real ``stripe`` SDK and real HTTP, as the product uses it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from bugfixer.devstripe import create_app
from tests.support.server import serve

WEBHOOK_SECRET = "whsec_devstripe_tests"
API_KEY = "sk_test_devstripe_tests"
GOOD_CARD = {"card_number": "4242 4242 4242 4242", "expiry": "09 / 30", "cvc": "424"}


@dataclass
class Receiver:
    """Stands in for the product's ``/stripe/webhook``: verifies and records events."""

    events: list[stripe.Event] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    fail_first: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def endpoint(self, request: Request) -> PlainTextResponse:
        payload = await request.body()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("stripe-signature"), WEBHOOK_SECRET
            )
        except (stripe.SignatureVerificationError, ValueError):
            return PlainTextResponse("bad signature", status_code=400)
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        with self.lock:
            self.attempts.append(event.id)
            if self.fail_first > 0:
                self.fail_first -= 1
                return PlainTextResponse("try again", status_code=500)
            self.events.append(event)
        return PlainTextResponse("ok")

    def types(self) -> list[str]:
        return [event.type for event in self.events]


@dataclass
class Env:
    base: str
    db_path: Path
    client: stripe.StripeClient
    http: httpx.Client
    receiver: Receiver

    def control(self, name: str, **body: Any) -> dict[str, Any]:
        response = self.http.post(f"/_stripe/_test/{name}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def flush(self) -> dict[str, Any]:
        counts = self.control("flush")
        assert counts["pending"] == 0, counts
        return counts

    def advance(self, **amount: float) -> dict[str, Any]:
        return self.control("advance", **amount)

    def checkout_session(self, price: str, **params: Any) -> stripe.checkout.Session:
        return self.client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "line_items": [{"price": price, "quantity": 1}],
                "success_url": "https://app.test/billing/success?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": "https://app.test/pricing",
                **params,
            }
        )

    def pay(self, session: stripe.checkout.Session, **form: str) -> httpx.Response:
        """Fill in and submit the hosted checkout page like a browser would."""
        page = self.http.get(session.url)
        assert page.status_code == 200, page.text
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        fields = {"email": "mrsmith@gmail.com", **GOOD_CARD, **form}
        return self.http.post(action.group(1), data=fields)

    def subscribe(self, price: str, **params: Any) -> stripe.checkout.Session:
        session = self.checkout_session(price, **params)
        response = self.pay(session)
        assert response.status_code == 303, response.text
        return self.client.v1.checkout.sessions.retrieve(session.id)


def build_app(db_path: Path, receiver: Receiver) -> Starlette:
    devstripe = create_app(db_path=db_path, webhook_secret=WEBHOOK_SECRET, api_key=API_KEY)
    return Starlette(
        routes=[
            Mount("/_stripe", app=devstripe),
            Route("/stripe/webhook", receiver.endpoint, methods=["POST"]),
        ]
    )


def sdk_client(base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": f"{base}/_stripe"}, max_network_retries=0
    )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    receiver = Receiver()
    db_path = tmp_path / "devstripe.sqlite3"
    with serve(build_app(db_path, receiver)) as base, httpx.Client(base_url=base) as http:
        yield Env(base, db_path, sdk_client(base), http, receiver)
        http.post("/_stripe/_test/flush", json={"timeout": 10})


@dataclass
class Plans:
    product: stripe.Product
    monthly: stripe.Price
    quarterly: stripe.Price


@pytest.fixture
def plans(env: Env) -> Plans:
    product = env.client.v1.products.create(params={"name": "Code Bug Fixer"})
    prices = {
        key: env.client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": "month", "interval_count": months},
                "lookup_key": key,
            }
        )
        for key, amount, months in (("monthly", 500, 1), ("quarterly", 1200, 3))
    }
    env.flush()
    env.receiver.events.clear()
    return Plans(product, prices["monthly"], prices["quarterly"])
