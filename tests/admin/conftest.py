"""An app with its Stripe emulator on a loopback port, an administrator and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe

from bugfixer import flows
from bugfixer.accounts import service as accounts
from bugfixer.deps import AppContext
from bugfixer.fixing.service import reserve_fix, settle_fix
from bugfixer.main import create_app
from bugfixer.metering.identity import VISITOR_COOKIE, Identity
from bugfixer.metering.service import Reservation
from tests.billing.conftest import PASSWORD
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

ADMIN_EMAIL = "owner@example.com"
# USD per million tokens (prompt, completion) of the scripted provider's model.
PRICES = {"scripted-1": [2.0, 8.0]}


@dataclass
class Site:
    app: Any
    base: str
    admin_key: str

    @property
    def ctx(self) -> AppContext:
        return self.app.state.ctx

    def browser(self, name: str) -> httpx.Client:
        """A browser of its own: its own cookies and User-Agent (so its own fingerprint)."""
        return httpx.Client(base_url=self.base, headers={"User-Agent": f"{name}/1.0"}, timeout=30)

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30
        )

    def metrics(self, query: str = "days=7") -> dict[str, Any]:
        with self.admin() as client:
            r = client.get(f"/api/v1/admin/metrics?{query}")
        assert r.status_code == 200, r.text
        return r.json()

    def stripe(self) -> stripe.StripeClient:
        key = self.ctx.settings.devstripe_key
        return stripe.StripeClient(key, base_addresses={"api": f"{self.base}/_stripe"})

    def flush(self) -> None:
        r = httpx.post(f"{self.base}/_stripe/_test/flush", json={"timeout": 20}, timeout=30)
        r.raise_for_status()

    def visitor_of(self, browser: httpx.Client) -> str:
        visitor_id = self.ctx.cookies.read(browser.cookies[VISITOR_COOKIE])
        assert visitor_id
        return visitor_id

    def user_id(self, email: str) -> int:
        user = self.ctx.db.read_now(accounts.find_user, email=email)
        assert user is not None
        return user.id

    def fix(
        self,
        identity: Identity,
        *,
        fixed: bool = True,
        tokens: tuple[int, int] = (1000, 400),
        latency_ms: int = 100,
        calls: int = 1,
    ) -> Reservation:
        """One fix through the fix flow's units of work, with known tokens and time."""
        fixer = self.ctx.fixer
        reservation = self.ctx.db.write_now(
            reserve_fix, identity=identity, allowance=fixer.allowance, grace=fixer.grace
        )
        llm = {
            "provider": "scripted",
            "model": "scripted-1",
            "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1],
            "latency_ms": latency_ms,
            "cost_microusd": 0,
        }
        event = {**llm, "llm_calls": calls}
        self.ctx.db.write_now(
            settle_fix,
            reservation=reservation,
            fix=fix_row(reservation, fixed=fixed),
            charge=llm if fixed else None,
            free_fixes=self.ctx.settings.free_fixes,
            llm=event,
        )
        return reservation


def fix_row(reservation: Reservation, *, fixed: bool) -> dict[str, Any]:
    import secrets

    from bugfixer.db import utcnow

    return {
        "id": secrets.token_urlsafe(16),
        "visitor_id": reservation.visitor_id,
        "user_id": reservation.user_id,
        "status": "fixed" if fixed else "no_fix",
        "language": "python",
        "code": "def f()\n    return 1\n",
        "error": "",
        "explanation": "Added the missing colon." if fixed else "No confident fix.",
        "fixed_code": "def f():\n    return 1\n" if fixed else None,
        "diff": "",
        "verification": {"ok": fixed, "checks": []},
        "provider": "scripted",
        "model": "scripted-1",
        "created_at": utcnow(),
    }


def make_admin(app: Any, email: str = ADMIN_EMAIL) -> str:
    """An administrator (as `bugfixer create-admin` makes one) and an API key of theirs."""
    db = app.state.ctx.db
    prepared = accounts.prepare_account(email=email, password=PASSWORD)
    db.write_now(flows.make_admin, email=email, account=prepared)
    user = db.read_now(accounts.find_user, email=email)
    return db.write_now(accounts.create_api_key, user_id=user.id, name="dashboard").secret


@pytest.fixture
def site(tmp_path, database_url) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """Runs each test on SQLite and on PostgreSQL."""
    settings = make_settings(tmp_path, database_url=database_url, llm_prices=PRICES)
    app = create_app(settings, provider=ScriptedProvider())
    admin_key = make_admin(app)
    with serve(app) as base:
        yield Site(app=app, base=base, admin_key=admin_key)
