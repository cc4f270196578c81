"""Exactly BUGFIXER_FREE_FIXES fixes succeed per visitor, however the requests arrive."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider, failing
from tests.support.server import serve

BROKEN = {"code": "def f()\n    return 1\n"}


async def _burst(base_url: str, cookie: str, n: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, cookies={"bf_visitor": cookie}) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/fixes", json=BROKEN, timeout=60) for _ in range(n))
        )
    return [r.status_code for r in responses]


def _first_visit(base_url: str) -> str:
    """Get a visitor cookie without spending a fix (a rejected request sets none)."""
    r = httpx.post(f"{base_url}/api/v1/fixes", json=BROKEN, timeout=30)
    assert r.status_code == 200
    return r.cookies["bf_visitor"]


def test_forty_simultaneous_requests_from_one_visitor_get_exactly_three(tmp_path, database_url):
    provider = ScriptedProvider(delay_s=0.2)
    app = create_app(make_settings(tmp_path, database_url=database_url), provider=provider)
    with serve(app) as base_url:
        cookie = _first_visit(base_url)  # uses 1 of 3
        statuses = asyncio.run(_burst(base_url, cookie, 40))
        assert sorted(statuses) == [200] * 2 + [402] * 38
        usage = httpx.post(f"{base_url}/api/v1/fixes", json=BROKEN, cookies={"bf_visitor": cookie})
        assert usage.status_code == 402
        assert usage.json()["usage"] == {"used": 3, "limit": 3, "remaining": 0, "plan": "free"}


def test_forty_simultaneous_first_fixes_succeed_exactly_three_times(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url=database_url, free_fixes=3)
    provider = ScriptedProvider(delay_s=0.2)
    app = create_app(settings, provider=provider)
    with serve(app) as base_url:
        r = httpx.post(f"{base_url}/api/v1/fixes", json={"code": ""})
        assert r.status_code == 422
        cookie = _first_visit(base_url)
        statuses = asyncio.run(_burst(base_url, cookie, 40))
        assert statuses.count(200) == 2 and statuses.count(402) == 38


def test_provider_errors_and_timeouts_under_load_leave_remaining_unchanged(tmp_path, database_url):
    provider = ScriptedProvider()
    app = create_app(make_settings(tmp_path, database_url=database_url), provider=provider)
    with serve(app) as base_url:
        cookie = _first_visit(base_url)
        provider.steps = [failing() for _ in range(10)]
        statuses = asyncio.run(_burst(base_url, cookie, 10))
        # Only two reservations can be held at once; the rest wait for none and get 402.
        assert 200 not in statuses and statuses.count(503) >= 2
        assert set(statuses) <= {402, 503}
        provider.steps = []
        r = httpx.post(f"{base_url}/api/v1/fixes", json=BROKEN, cookies={"bf_visitor": cookie})
        assert r.json()["usage"]["remaining"] == 1


@pytest.mark.parametrize("limit", [0, 1, 5])
def test_free_fix_limit_is_configurable(tmp_path, limit):
    app = create_app(make_settings(tmp_path, free_fixes=limit), provider=ScriptedProvider())
    with serve(app) as base_url, httpx.Client(base_url=base_url) as client:
        codes = [client.post("/api/v1/fixes", json=BROKEN).status_code for _ in range(limit + 2)]
    assert codes == [200] * limit + [402] * 2
