"""In-process rate limits (moving window) for abuse resistance, built on `limits`.

Counters live in this process's memory: they reset on restart and are not shared
between worker processes, which is enough to blunt brute force and floods.
"""

from __future__ import annotations

import bisect
import threading
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from bugfixer.errors import AppError

# How often expired hits and idle keys are dropped (see _Storage).
SWEEP_INTERVAL_S = 10.0


class _Storage(MemoryStorage):
    """`MemoryStorage` without its expiry thread: RateLimiter trims it under its lock.

    That thread re-arms every 10 ms while hits come in and walks every key each time
    (8 ms at 10 000 keys, holding the GIL away from requests), races with hits, and
    keeps an entry per key ever seen, so rotating IPs would grow memory forever.
    """

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()

    def _MemoryStorage__schedule_expiry(self) -> None:
        pass

    def sweep(self, now: float) -> None:
        for key, entries in list(self.events.items()):
            # Newest first; keep those whose window has not ended.
            live = bisect.bisect_right(entries, -now, key=lambda entry: -entry.expiry)
            if live:
                del entries[live:]
            else:
                self.clear(key)


class RateLimited(AppError):
    status = 429
    code = "rate_limited"

    def __init__(self, *, rule: str, limit: str, retry_after: int) -> None:
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(
            f"Too many requests: the limit is {limit}. Try again in {retry_after} {unit}."
        )
        self.rule = rule
        self.limit = limit
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)
        self.extra["retry_after"] = retry_after


def _parse_rule(name: str, text: str) -> tuple[RateLimitItem, ...]:
    if "/" in name:
        raise ValueError(f"rate limit rule name {name!r} must not contain '/'")
    if not text.strip():
        return ()
    try:
        items = parse_many(text)
    except ValueError:
        raise ValueError(
            f"rate limit rule {name!r}: cannot parse {text!r} "
            "(expected e.g. '10/minute' or '10/minute;50/hour')"
        ) from None
    for item in items:
        if item.amount < 1:
            raise ValueError(f"rate limit rule {name!r}: {text!r} allows no hits at all")
    return tuple(items)


class RateLimiter:
    """Named rules, each one or more moving-window limits, counted per key.

    One lock serialises every hit: a rule with several limits must check all of them
    and count in all of them as one step, or concurrent hits could each pass the check
    and overshoot. A hit holds the lock for a few microseconds.
    """

    def __init__(self, rules: dict[str, str]) -> None:
        self._rules = {name: _parse_rule(name, text) for name, text in rules.items()}
        self._storage = _Storage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._lock = threading.Lock()
        self._next_sweep = time.time() + SWEEP_INTERVAL_S

    def hit(self, rule: str, key: str) -> None:
        """Count one hit for `key` under `rule`, or raise RateLimited without counting it."""
        items = self._rules[rule]
        if not items:
            return
        strategy = self._strategy
        with self._lock:
            if time.time() >= self._next_sweep:
                self._storage.sweep(time.time())
                self._next_sweep = time.time() + SWEEP_INTERVAL_S
            if len(items) == 1:
                if strategy.hit(items[0], rule, key):
                    return
            # Check every limit before counting in any, so a refused hit counts nowhere;
            # under the lock nothing else can take the slots `test` saw as free.
            elif all(strategy.test(i, rule, key) for i in items) and all(
                strategy.hit(i, rule, key) for i in items
            ):
                return
            raise self._refusal(rule, key, items)

    def _refusal(self, rule: str, key: str, items: tuple[RateLimitItem, ...]) -> RateLimited:
        now = time.time()
        worst: RateLimitItem = items[0]
        wait = 0.0
        for item in items:
            stats = self._strategy.get_window_stats(item, rule, key)
            if stats.remaining < 1 and stats.reset_time - now >= wait:
                worst, wait = item, stats.reset_time - now
        # Past the moment the slot frees, never on it: at that exact instant the
        # window still counts the oldest hit.
        retry_after = max(1, int(wait) + 1)
        return RateLimited(rule=rule, limit=str(worst), retry_after=retry_after)

    def memory_use(self) -> tuple[int, int]:
        """How many (rule, key, limit) windows and hits are held in memory, for monitoring."""
        with self._lock:
            events = self._storage.events
            return len(events), sum(map(len, events.values()))

    def reset(self) -> None:
        """Clear every counter (tests)."""
        with self._lock:
            self._storage.reset()
            self._next_sweep = time.time() + SWEEP_INTERVAL_S
