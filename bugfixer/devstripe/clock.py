"""The emulated clock (wall time plus a stored offset) and calendar billing periods."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime

OFFSET_KEY = "clock_offset"

_SECONDS = {"day": 86_400, "week": 7 * 86_400}
_MONTHS = {"month": 1, "year": 12}
INTERVALS = frozenset(_SECONDS) | frozenset(_MONTHS)


def emulated_now(offset: float) -> int:
    return int(time.time() + offset)


def add_interval(anchor: int, interval: str, count: int) -> int:
    """``anchor`` plus ``count`` intervals; months keep the anchor's day, clamped.

    Periods are always computed from the billing anchor, so a subscription that
    starts on 31 January renews on 28/29 February and then on 31 March.
    """
    if interval in _SECONDS:
        return anchor + _SECONDS[interval] * count
    if interval not in _MONTHS:
        raise ValueError(f"unknown interval {interval!r}")
    start = datetime.fromtimestamp(anchor, UTC)
    months = start.month - 1 + _MONTHS[interval] * count
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


def describe_interval(interval: str, count: int) -> str:
    """``month``/1 → "month", ``month``/3 → "3 months"."""
    return interval if count == 1 else f"{count} {interval}s"


def format_date(timestamp: int | None) -> str:
    """ "March 5, 2025": the form the product's own pages use."""
    if timestamp is None:
        return "—"
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{moment.strftime('%B')} {moment.day}, {moment.year}"
