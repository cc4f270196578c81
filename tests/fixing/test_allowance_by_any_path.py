"""A visitor never receives more fixed programs than its allowance, by any path.

The stream once sent the model's raw text, fixed program included, before the fix was
settled; hanging up then gave the free fix back. Only prose streams now.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from bugfixer.main import create_app
from bugfixer.metering.identity import VISITOR_COOKIE
from bugfixer.metering.models import UsageRecord
from tests.conftest import csrf_token, make_settings
from tests.fixing.test_stream import (
    BROKEN,
    FIXED,
    SSE,
    ChunkedProvider,
    parse_events,
    remaining,
    reply,
    wait_until,
)
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

FENCED_FIX = "```python\n" + FIXED + "```\n"
# Something only the fixed program contains (the broken one lacks the colon).
MARK = "def f():"


def _usage_records(app) -> int:  # type: ignore[no-untyped-def]
    with app.state.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(UsageRecord))


def _stream_then_hang_up(http: httpx.Client, quiet_s: float, *, api: bool = False) -> str:
    """Read the stream (the page's, or the API's) until it goes quiet for ``quiet_s``,
    then hang up.

    Answers everything received.
    """
    received = ""
    if api:
        request = {"url": "/api/v1/fixes", "json": {"code": BROKEN}}
    else:
        request = {"url": "/fix/stream", "data": {"csrf_token": csrf_token(http), "code": BROKEN}}
    timeout = httpx.Timeout(30, read=quiet_s)
    with http.stream("POST", **request, headers=SSE, timeout=timeout) as r:
        assert r.status_code == 200
        try:
            for chunk in r.iter_text():
                received += chunk
        except httpx.ReadTimeout:
            pass
    return received


class SlowToSettle(ChunkedProvider):
    """Writes the whole answer, fixed program included, then takes its time to finish."""

    def __init__(self) -> None:
        super().__init__()

    async def stream(self, prompt):  # type: ignore[no-untyped-def]
        self.chunks = [
            "### Explanation\nThe `def` line lacks its colon.\n\n",
            "### Fixed code\n",
            FENCED_FIX,
            ("sleep", 3),
        ]
        async for item in super().stream(prompt):
            yield item


@pytest.mark.parametrize("api", [False, True], ids=["page-stream", "api-stream"])
def test_hanging_up_after_the_code_was_written_delivers_no_code_and_three_fixes_stay(
    tmp_path, database_url, api
):
    provider = SlowToSettle()
    provider.default = reply(FIXED)
    settings = make_settings(tmp_path, database_url=database_url)
    app = create_app(settings, provider=provider)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        received = []
        for _ in range(6):
            received.append(_stream_then_hang_up(http, quiet_s=1.0, api=api))
            # The server notices the hang-up and gives the fix back a moment later.
            visitor = app.state.ctx.cookies.read(http.cookies[VISITOR_COOKIE])
            assert wait_until(lambda v=visitor: remaining(app, v) == 3)
        assert all("event: delta" in text for text in received)
        assert not any(MARK in text for text in received), "fixed code left before settling"
        # Every hang-up gave its free fix back: all three are still there, by any path.
        programs = 0
        for _ in range(5):
            r = http.post("/api/v1/fixes", json={"code": BROKEN})
            if r.status_code == 200:
                programs += MARK in r.json()["fixed_code"]
            else:
                assert r.status_code == 402
        assert programs == 3
        assert _usage_records(app) == 3


def test_a_fix_that_fails_verification_never_shows_its_code(tmp_path, database_url):
    bad = "def f(:\n    return 'LEAKED'\n"
    provider = ScriptedProvider(*[reply(bad)] * 4)
    app = create_app(make_settings(tmp_path, database_url=database_url), provider=provider)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        data = {"csrf_token": csrf_token(http), "code": BROKEN}
        body = http.post("/fix/stream", data=data, headers=SSE).text
        events = parse_events(body)
        assert events[-1][0] == "result"
        assert events[-1][1]["status"] == "no_fix" and events[-1][1]["fixed_code"] is None
        assert "LEAKED" not in body
        api = http.post("/api/v1/fixes", json={"code": BROKEN}).json()
        assert api["status"] == "no_fix" and "LEAKED" not in str(api)
        assert _usage_records(app) == 0


def test_the_api_streams_prose_then_the_settled_result_and_charges_once(tmp_path, database_url):
    provider = ScriptedProvider(reply(FIXED))
    app = create_app(make_settings(tmp_path, database_url=database_url), provider=provider)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/v1/fixes", json={"code": BROKEN}, headers=SSE)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_events(r.text)
        assert [name for name, _ in events][-1] == "result"
        assert all(MARK not in str(data) for name, data in events if name != "result")
        result = events[-1][1]
        assert result["status"] == "fixed" and MARK in result["fixed_code"]
        assert "html" not in result
        assert result["usage"]["remaining"] == 2
        assert _usage_records(app) == 1
        # Refusals come before any stream, as JSON with their status.
        assert http.post("/api/v1/fixes", json={"code": ""}, headers=SSE).status_code == 422
