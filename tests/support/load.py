"""Many clients at once, with a watchdog that keeps asking /healthz meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import httpx

T = TypeVar("T")


async def watched(base_url: str, work: Awaitable[T], *, every_s: float = 0.05) -> T:
    """Run ``work`` while /healthz is polled; fails unless every health check answered 200.

    A blocked event loop or an exhausted database pool shows up as a health check that
    times out or fails while the load runs.
    """
    stop = asyncio.Event()
    statuses: list[int] = []

    async def watchdog() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
            while not stop.is_set():
                statuses.append((await client.get("/healthz")).status_code)
                await asyncio.sleep(every_s)

    dog = asyncio.create_task(watchdog())
    try:
        result = await work
    finally:
        stop.set()
        await dog
    assert statuses and set(statuses) == {200}, f"/healthz answered {statuses}"
    return result
