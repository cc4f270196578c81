"""All anonymous free fixes from one network share a daily cap; a new User-Agent buys nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import update

from bugfixer.db import utcnow
from bugfixer.main import create_app
from bugfixer.metering.models import UsageRecord
from tests.conftest import make_settings
from tests.metering.test_concurrency import _signed_up
from tests.support.providers import ScriptedProvider, failing
from tests.support.server import serve

BROKEN = {"code": "def f()\n    return 1\n"}


def _fix(base_url: str, user_agent: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/fixes", json=BROKEN, headers={"User-Agent": user_agent}, timeout=30
    )


def test_new_user_agents_share_the_networks_daily_cap(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url=database_url, free_fixes_per_network_per_day=5)
    app = create_app(settings, provider=ScriptedProvider())
    with serve(app) as base_url:
        codes = [_fix(base_url, f"browser/{n}").status_code for n in range(4)]
        codes += [_fix(base_url, "browser/0").status_code for _ in range(3)]
        assert codes == [200, 200, 200, 200, 200, 402, 402]
        refused = _fix(base_url, "yet another browser")
        assert refused.status_code == 402
        body = refused.json()
        assert body["error"] == "quota_exhausted" and body["pricing_url"] == "/pricing"
        assert "network" in body["message"]
        # A signed-in account is not capped by its network.
        with _signed_up(base_url, "office@example.com") as account:
            assert account.post("/api/v1/fixes", json=BROKEN).status_code == 200


def test_failed_fixes_do_not_count_towards_the_network_cap(tmp_path):
    provider = ScriptedProvider()
    settings = make_settings(tmp_path, free_fixes_per_network_per_day=2)
    app = create_app(settings, provider=provider)
    with serve(app) as base_url:
        provider.steps = [failing(), failing()]
        assert [_fix(base_url, f"ua/{n}").status_code for n in range(2)] == [503, 503]
        assert [_fix(base_url, f"ua/{n}").status_code for n in range(3)] == [200, 200, 402]


def test_the_cap_is_a_rolling_day(tmp_path):
    settings = make_settings(tmp_path, free_fixes_per_network_per_day=2)
    app = create_app(settings, provider=ScriptedProvider())
    with serve(app) as base_url:
        assert [_fix(base_url, f"ua/{n}").status_code for n in range(3)] == [200, 200, 402]
        with app.state.ctx.db.transaction() as s:
            s.execute(
                update(UsageRecord).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
            )
        assert _fix(base_url, "ua/new").status_code == 200


async def _burst_of_browsers(base_url: str, n: int) -> list[int]:
    async def one(i: int) -> int:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            r = await client.post("/api/v1/fixes", json=BROKEN, headers={"User-Agent": f"b/{i}"})
            return r.status_code

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def test_forty_new_browsers_at_once_get_exactly_the_cap(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url=database_url, free_fixes_per_network_per_day=7)
    app = create_app(settings, provider=ScriptedProvider(delay_s=0.2))
    with serve(app) as base_url:
        statuses = asyncio.run(_burst_of_browsers(base_url, 40))
        assert statuses.count(200) == 7 and statuses.count(402) == 33
