"""Writers of every kind at once, on SQLite and PostgreSQL: nothing wedges, nothing fails.

A process-wide lock taken in one thread and released in another once let a few API-key
creations and anonymous fixes stop every request, /healthz included, until a restart.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time

import httpx

from bugfixer.devstripe import sign
from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

BROKEN = {"code": "def f()\n    return 1\n"}
PASSWORD = "a long enough password"
RUN_S = 4.0
# A wedged server answers nothing; a healthy one answers /healthz within milliseconds.
WATCHDOG_TIMEOUT_S = 10.0


def _token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:200]
    return match.group(1)


async def _sign_up(client: httpx.AsyncClient) -> None:
    token = _token(await client.get("/signup"))
    email = f"load-{secrets.token_hex(6)}@example.com"
    r = await client.post(
        "/signup", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303, r.text[:300]


class Load:
    def __init__(self, base: str, webhook_secret: str) -> None:
        self.base = base
        self.secret = webhook_secret
        self.until = time.monotonic() + RUN_S
        self.statuses: dict[str, list[int]] = {}
        self.healthz: list[float] = []

    def note(self, kind: str, status: int) -> None:
        self.statuses.setdefault(kind, []).append(status)

    def going(self, kind: str) -> bool:
        """Until the time is up; but every kind of writer gets at least one turn."""
        return time.monotonic() < self.until or kind not in self.statuses

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=60, follow_redirects=False)

    async def fixes(self, n: int) -> None:
        """A browser fixing again and again (the API, the stream), then a fresh browser."""
        while self.going("fix"):
            async with self.client() as client:
                for attempt in range(4):
                    if (n + attempt) % 2:
                        r = await client.post("/api/v1/fixes", json=BROKEN)
                    else:
                        token = _token(await client.get("/"))
                        r = await client.post(
                            "/fix/stream",
                            data={**BROKEN, "csrf_token": token},
                            headers={"Accept": "text/event-stream"},
                        )
                    self.note("fix", r.status_code)

    async def api_keys(self) -> None:
        async with self.client() as client:
            await _sign_up(client)
            while self.going("api_key"):
                token = _token(await client.get("/account"))
                r = await client.post(
                    "/account/api-keys", data={"name": "load", "csrf_token": token}
                )
                self.note("api_key", r.status_code)

    async def sign_ups_and_outs(self) -> None:
        while self.going("logout"):
            async with self.client() as client:
                await _sign_up(client)
                self.note("signup", 303)
                token = _token(await client.get("/account"))
                r = await client.post("/logout", data={"csrf_token": token})
                self.note("logout", r.status_code)

    async def webhooks(self) -> None:
        async with self.client() as client:
            while self.going("webhook"):
                invoice = f"in_{secrets.token_hex(8)}"
                event = {
                    "id": f"evt_{secrets.token_hex(8)}",
                    "object": "event",
                    "type": "invoice.paid",
                    "created": int(time.time()),
                    "data": {
                        "object": {
                            "id": invoice,
                            "object": "invoice",
                            "amount_paid": 500,
                            "currency": "usd",
                            "created": int(time.time()),
                        }
                    },
                }
                payload = json.dumps(event)
                r = await client.post(
                    "/stripe/webhook",
                    content=payload,
                    headers={
                        "Stripe-Signature": sign(payload, self.secret),
                        "Content-Type": "application/json",
                    },
                )
                self.note("webhook", r.status_code)

    async def watchdog(self) -> None:
        async with self.client() as client:
            while time.monotonic() < self.until + 0.5 or len(self.statuses) < 5:
                started = time.monotonic()
                r = await client.get("/healthz", timeout=WATCHDOG_TIMEOUT_S)
                assert r.status_code == 200
                self.healthz.append(time.monotonic() - started)
                await asyncio.sleep(0.05)

    async def run(self) -> None:
        await asyncio.gather(
            self.watchdog(),
            *(self.fixes(n) for n in range(20)),
            self.api_keys(),
            self.api_keys(),
            self.sign_ups_and_outs(),
            self.sign_ups_and_outs(),
            self.webhooks(),
        )


def test_fixes_api_keys_sign_ups_logouts_and_webhooks_at_once_never_wedge(tmp_path, database_url):
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        free_fixes_per_network_per_day=0,
        rate_limit_fix="",
        rate_limit_fix_ip="",
        rate_limit_signup="",
    )
    app = create_app(settings, provider=ScriptedProvider(delay_s=0.02))
    with serve(app) as base:
        load = Load(base, settings.webhook_secret)
        asyncio.run(load.run())
    statuses = load.statuses
    assert set(statuses) == {"fix", "api_key", "signup", "logout", "webhook"}
    assert set(statuses["fix"]) <= {200, 402}, statuses["fix"]
    assert 200 in statuses["fix"] and 402 in statuses["fix"]
    assert set(statuses["api_key"]) == {303}
    assert set(statuses["logout"]) == {303}
    assert set(statuses["webhook"]) == {200}
    # The watchdog kept getting answers the whole time (each within its timeout).
    assert len(load.healthz) >= 3
