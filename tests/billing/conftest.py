"""The app with its built-in Stripe emulator, served on a loopback port, and a shopper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

PASSWORD = "a long enough password"
BROKEN = {"code": "def f()\n    return 1\n"}
GOOD_CARD = {"card_number": "4242 4242 4242 4242", "expiry": "09 / 30", "cvc": "424"}


@dataclass
class Shop:
    app: object
    base: str

    def client(self, user_agent: str = "shopper/1") -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"User-Agent": user_agent}, timeout=30)

    def flush(self) -> dict:  # type: ignore[type-arg]
        """Wait until the emulator has delivered every webhook."""
        r = httpx.post(f"{self.base}/_stripe/_test/flush", json={"timeout": 20}, timeout=30)
        r.raise_for_status()
        return r.json()

    def advance(self, **amount: int) -> dict:  # type: ignore[type-arg]
        r = httpx.post(f"{self.base}/_stripe/_test/advance", json=amount, timeout=30)
        r.raise_for_status()
        self.flush()
        return r.json()


def token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_up(
    client: httpx.Client, email: str = "mrsmith@gmail.com", next: str = ""
) -> httpx.Response:
    data = {
        "email": email,
        "password": PASSWORD,
        "csrf_token": token(client, "/signup"),
        "next": next,
    }
    return client.post("/signup", data=data)


def checkout(client: httpx.Client, plan: str = "quarterly", **extra: str) -> httpx.Response:
    """Press Subscribe on the pricing page; answers the redirect to the hosted checkout."""
    data = {"plan": plan, "csrf_token": token(client, "/pricing"), **extra}
    return client.post("/billing/checkout", data=data)


def pay(
    client: httpx.Client,
    checkout_url: str,
    card: dict[str, str] | None = None,
    email: str = "mrsmith@gmail.com",
) -> httpx.Response:
    client.get(checkout_url).raise_for_status()
    return client.post(checkout_url, data={"email": email, **(card or GOOD_CARD)})


def subscribe(shop: Shop, client: httpx.Client, plan: str = "quarterly") -> httpx.Response:
    """Checkout and pay; answers the success page."""
    started = checkout(client, plan)
    assert started.status_code == 303, started.text
    paid = pay(client, started.headers["location"])
    assert paid.status_code == 303, paid.text
    page = client.get(paid.headers["location"])
    shop.flush()
    return page


@pytest.fixture
def shop(tmp_path, database_url) -> Iterator[Shop]:  # type: ignore[no-untyped-def]
    """Runs each billing test on SQLite and on PostgreSQL."""
    settings = make_settings(tmp_path, database_url=database_url)
    app = create_app(settings, provider=ScriptedProvider())
    with serve(app) as base:
        yield Shop(app=app, base=base)
