"""Exactly BUGFIXER_FREE_FIXES fixes succeed per visitor, however the requests arrive."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

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


async def _cookieless_burst(base_url: str, n: int) -> list[int]:
    """A browser's first sight, forty times at once: no cookie, one network, one User-Agent."""

    async def one() -> int:
        # A client each: none of them has or keeps a cookie.
        async with httpx.AsyncClient(
            base_url=base_url, headers={"User-Agent": "burst/1"}, timeout=60
        ) as client:
            return (await client.post("/api/v1/fixes", json=BROKEN)).status_code

    return list(await asyncio.gather(*(one() for _ in range(n))))


def test_forty_simultaneous_first_fixes_succeed_exactly_three_times(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url=database_url, free_fixes=3)
    provider = ScriptedProvider(delay_s=0.2)
    app = create_app(settings, provider=provider)
    with serve(app) as base_url:
        statuses = asyncio.run(_cookieless_burst(base_url, 40))
        assert statuses.count(200) == 3 and statuses.count(402) == 37


@contextmanager
def _signed_up(base_url: str, email: str) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=base_url, timeout=30)
    page = client.get("/signup")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/signup", data={"email": email, "password": "a long enough password", "csrf_token": token}
    )
    assert r.status_code == 303
    try:
        yield client
    finally:
        client.close()


async def _account_burst(base_url: str, n: int, **client_args: object) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60, **client_args) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/fixes", json=BROKEN) for _ in range(n))
        )
    return [r.status_code for r in responses]


def test_forty_simultaneous_fixes_of_a_signed_in_account_get_exactly_three(tmp_path, database_url):
    app = create_app(
        make_settings(tmp_path, database_url=database_url),
        provider=ScriptedProvider(delay_s=0.2),
    )
    with serve(app) as base_url, _signed_up(base_url, "burst@example.com") as browser:
        session = browser.cookies["bf_session"]
        statuses = asyncio.run(_account_burst(base_url, 40, cookies={"bf_session": session}))
        assert statuses.count(200) == 3 and statuses.count(402) == 37


def test_forty_simultaneous_fixes_with_an_api_key_get_exactly_three(tmp_path, database_url):
    app = create_app(
        make_settings(tmp_path, database_url=database_url),
        provider=ScriptedProvider(delay_s=0.2),
    )
    with serve(app) as base_url, _signed_up(base_url, "key@example.com") as browser:
        page = browser.get("/account")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        created = browser.post(
            "/account/api-keys", data={"name": "ci", "csrf_token": token}, follow_redirects=True
        )
        key = re.search(r"(bfk_[A-Za-z0-9_-]{43})", created.text).group(1)
        headers = {"Authorization": f"Bearer {key}"}
        statuses = asyncio.run(_account_burst(base_url, 40, headers=headers))
        assert statuses.count(200) == 3 and statuses.count(402) == 37


async def _stream_burst(base_url: str, n: int, *, api: bool = False) -> list[str]:
    """Forty streams at once from one browser (the page's, or the API's); answers how
    each ended."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        page = await client.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        if api:
            request = {"url": "/api/v1/fixes", "json": BROKEN}
        else:
            request = {"url": "/fix/stream", "data": {**BROKEN, "csrf_token": token}}

        async def one() -> str:
            r = await client.post(**request, headers={"Accept": "text/event-stream"})
            if r.status_code != 200:
                return str(r.status_code)
            return "fixed" if '"status": "fixed"' in r.text else "other"

        return list(await asyncio.gather(*(one() for _ in range(n))))


@pytest.mark.parametrize("api", [False, True], ids=["page-stream", "api-stream"])
def test_forty_simultaneous_streams_from_one_browser_deliver_exactly_three(
    tmp_path, database_url, api
):
    app = create_app(
        make_settings(tmp_path, database_url=database_url),
        provider=ScriptedProvider(delay_s=0.2),
    )
    with serve(app) as base_url:
        outcomes = asyncio.run(_stream_burst(base_url, 40, api=api))
        assert outcomes.count("fixed") == 3 and outcomes.count("402") == 37


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
