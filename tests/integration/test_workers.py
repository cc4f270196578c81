"""`bugfixer serve --workers 2` on PostgreSQL with Redis limits: the same guarantees as one.

And what a worker's end costs: on SIGTERM a fix in flight finishes, or gives its free fix
back when it runs past the shutdown timeout; a fix held by a killed worker is given back
once its hold expires.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bugfixer.devstripe import sign
from tests.support.fake_llm import Delay, FakeLLM
from tests.support.process import BIN, clean_environ, free_port, started

pytestmark = pytest.mark.postgres

FIX = {"code": "def f()\n    return 1\n", "error": "SyntaxError: expected ':'"}
GOOD = (
    "### Explanation\nAdded the colon.\n\n### Fixed code\n```python\ndef f():\n    return 1\n```\n"
)
WEBHOOK_SECRET = "whsec_workers_test_0123456789abcdef"


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers share one database: PostgreSQL")
    return database_url


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(GOOD) as server:
        yield server


@contextmanager
def workers(tmp_path: Path, fake: FakeLLM, database: str, **env: str) -> Iterator[tuple[str, int]]:
    """`bugfixer serve --workers 2` against the fake LLM, until the block ends (SIGTERM).

    Gives the URL and the serve process's pid (the workers are its children).
    """
    port = free_port()
    environ = clean_environ(
        BUGFIXER_INSTANCE_DIR=str(tmp_path / "instance"),
        BUGFIXER_DATABASE_URL=database,
        BUGFIXER_LLM_PROVIDER="openai",
        BUGFIXER_LLM_BASE_URL=fake.base_url,
        BUGFIXER_LLM_API_KEY="sk-test",
        BUGFIXER_LLM_MAX_RETRIES="0",
        BUGFIXER_LOG_LEVEL="WARNING",
        BUGFIXER_PORT=str(port),
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TMPDIR=str(tmp_path),
        **env,
    )
    argv = [BIN / "bugfixer", "serve", "--workers", "2"]
    log = tmp_path / "serve.log"
    with started(argv, env=environ, cwd=tmp_path, log=log, port=port) as (url, process):
        yield url, process.pid


def _scalar(database: str, sql: str) -> object:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    finally:
        engine.dispose()


async def _burst(url: str, n: int, **client: object) -> list[int]:
    async def one() -> int:
        async with httpx.AsyncClient(base_url=url, timeout=60, **client) as http:
            return (await http.post("/api/v1/fixes", json=FIX)).status_code

    return list(await asyncio.gather(*(one() for _ in range(n))))


def test_forty_fixes_at_once_from_one_browser_across_two_workers_serve_exactly_three(
    tmp_path, fake, postgres, redis_url
):
    fake.delay_s = 0.3
    with workers(tmp_path, fake, postgres, BUGFIXER_RATE_LIMIT_STORAGE=redis_url) as (url, _):
        statuses = asyncio.run(_burst(url, 40, headers={"User-Agent": "one-browser/1"}))
    assert statuses.count(200) == 3 and statuses.count(402) == 37
    assert _scalar(postgres, "SELECT count(*) FROM usage_records") == 3


def test_a_limit_of_five_a_minute_lets_exactly_five_through_across_two_workers(
    tmp_path, fake, postgres, redis_url
):
    with workers(
        tmp_path,
        fake,
        postgres,
        BUGFIXER_RATE_LIMIT_STORAGE=redis_url,
        BUGFIXER_RATE_LIMIT_FIX="5/minute",
        BUGFIXER_FREE_FIXES="100",
        BUGFIXER_FREE_FIXES_PER_NETWORK_PER_DAY="0",
    ) as (url, _):
        statuses = asyncio.run(_burst(url, 12, headers={"User-Agent": "one-browser/1"}))
    assert statuses.count(200) == 5 and statuses.count(429) == 7


def test_one_webhook_delivered_to_both_workers_at_once_makes_one_ledger_row(
    tmp_path, fake, postgres, redis_url
):
    event = {
        "id": "evt_workers_1",
        "object": "event",
        "type": "invoice.paid",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": "in_workers_1",
                "object": "invoice",
                "amount_paid": 500,
                "currency": "usd",
                "created": int(time.time()),
            }
        },
    }
    payload = json.dumps(event)
    headers = {
        "Stripe-Signature": sign(payload, WEBHOOK_SECRET),
        "Content-Type": "application/json",
    }

    async def deliver(url: str) -> list[int]:
        # A connection each, so the kernel spreads them over both workers.
        async def one() -> int:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                return (
                    await http.post("/stripe/webhook", content=payload, headers=headers)
                ).status_code

        return list(await asyncio.gather(*(one() for _ in range(20))))

    with workers(tmp_path, fake, postgres, BUGFIXER_RATE_LIMIT_STORAGE=redis_url) as (url, _):
        statuses = asyncio.run(deliver(url))
    assert statuses == [200] * 20
    assert _scalar(postgres, "SELECT count(*) FROM transactions") == 1
    assert _scalar(postgres, "SELECT status FROM stripe_events") == "processed"


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def test_sigterm_lets_a_fix_in_flight_finish(tmp_path, fake, postgres):
    fake.script([Delay(2, GOOD)])
    with workers(tmp_path, fake, postgres) as (url, master):

        async def fix_then_terminate() -> httpx.Response:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                pending = asyncio.ensure_future(http.post("/api/v1/fixes", json=FIX))
                while fake.request_count == 0:
                    await asyncio.sleep(0.05)
                os.kill(master, signal.SIGTERM)
                return await pending

        answered = asyncio.run(fix_then_terminate())
        assert answered.status_code == 200 and answered.json()["status"] == "fixed"
    assert _scalar(postgres, "SELECT count(*) FROM usage_records") == 1
    assert _scalar(postgres, "SELECT count(*) FROM pending_fixes") == 0


def test_a_fix_running_past_the_shutdown_timeout_gives_its_free_fix_back(tmp_path, fake, postgres):
    fake.script([Delay(60, GOOD)])
    with workers(tmp_path, fake, postgres, BUGFIXER_SHUTDOWN_TIMEOUT_S="1") as (url, master):

        async def fix_then_terminate() -> Exception | httpx.Response:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                pending = asyncio.ensure_future(http.post("/api/v1/fixes", json=FIX))
                while fake.request_count == 0:
                    await asyncio.sleep(0.05)
                held = _scalar(postgres, "SELECT count(*) FROM pending_fixes")
                assert held == 1
                os.kill(master, signal.SIGTERM)
                try:
                    return await pending
                except httpx.HTTPError as exc:
                    return exc

        answered = asyncio.run(fix_then_terminate())
        assert not isinstance(answered, httpx.Response) or answered.status_code != 200
    # Stopped by the shutdown, it released its hold before the process ended.
    assert _scalar(postgres, "SELECT count(*) FROM pending_fixes") == 0
    assert _scalar(postgres, "SELECT free_used FROM trials") == 0
    assert _scalar(postgres, "SELECT count(*) FROM usage_records") == 0


def test_free_fixes_held_by_a_killed_worker_come_back_when_their_hold_expires(
    tmp_path, fake, postgres
):
    fake.script([Delay(60, GOOD), Delay(60, GOOD)])
    agent = {"User-Agent": "killed-worker/1"}
    with workers(tmp_path, fake, postgres, BUGFIXER_RESERVATION_TTL_S="5") as (url, master):

        async def two_fixes_then_kill() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=60, headers=agent) as http:
                pending = [
                    asyncio.ensure_future(http.post("/api/v1/fixes", json=FIX)) for _ in range(2)
                ]
                while fake.request_count < 2:
                    await asyncio.sleep(0.05)
                for worker in _children(master):
                    os.kill(worker, signal.SIGKILL)  # no chance to release anything
                for request in pending:
                    with pytest.raises(httpx.HTTPError):
                        await request

        asyncio.run(two_fixes_then_kill())
        assert _scalar(postgres, "SELECT count(*) FROM pending_fixes") == 2
        assert _scalar(postgres, "SELECT free_used FROM trials") == 2
        time.sleep(5.5)  # the hold (BUGFIXER_RESERVATION_TTL_S) runs out
        # The serve process restarted its workers; the browser's next fix finds both back.
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.post(f"{url}/api/v1/fixes", json=FIX, headers=agent, timeout=30)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert r.status_code == 200, r.text
        assert r.json()["usage"] == {"used": 1, "limit": 3, "remaining": 2, "plan": "free"}
