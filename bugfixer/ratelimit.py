"""Rate limits (moving window) for abuse resistance, built on `limits`.

Counters live where ``BUGFIXER_RATE_LIMIT_STORAGE`` says: ``memory://`` keeps them in
this process (they reset on restart and each worker counts alone), ``redis://...`` shares
them between every worker and machine pointed at the same Redis, through the `limits`
async storage so a hit never blocks the event loop.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter as SharedMovingWindow
from limits.errors import ConfigurationError, StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bugfixer.errors import AppError

log = logging.getLogger(__name__)

# How often expired hits and idle keys are dropped (see _Storage).
SWEEP_INTERVAL_S = 10.0
# A Redis that does not answer must cost a request about a second, not hang it.
REDIS_TIMEOUT_S = 1.0
REDIS_SCHEMES = {"redis", "rediss", "redis+unix", "redis+sentinel"}


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


class RateLimitUnavailable(AppError):
    """The shared counters cannot be reached: refuse rather than let everything through."""

    status = 503
    code = "rate_limit_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "The service cannot check its request limits right now; nothing was charged. "
            "Please try again shortly."
        )
        self.headers["Retry-After"] = "5"


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


def _shared_strategy(uri: str) -> SharedMovingWindow:
    """The async moving window on the Redis that ``uri`` names (no connection is made yet)."""
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    scheme = urlsplit(uri).scheme
    if scheme not in REDIS_SCHEMES:
        raise ValueError(
            f"BUGFIXER_RATE_LIMIT_STORAGE={uri.split('://')[0]}://... is not supported: "
            "use memory:// (one process) or redis://host:port/db (shared)"
        )
    try:
        storage = storage_from_string(
            f"async+{uri}",
            implementation="redispy",
            wrap_exceptions=True,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            # One quick retry covers a pooled connection the server closed while idle.
            retry=Retry(NoBackoff(), 1),
        )
    except ConfigurationError as exc:
        raise ValueError(f"BUGFIXER_RATE_LIMIT_STORAGE: {exc}") from None
    return SharedMovingWindow(storage)


class RateLimiter:
    """Named rules, each one or more moving-window limits, counted per key.

    In memory, one lock serialises every hit: a rule with several limits checks all of
    them and counts in all of them as one step, so concurrent hits cannot overshoot and
    a refused hit counts nowhere. A hit holds the lock for a few microseconds.

    In Redis, each limit's check-and-count is one atomic script, so no limit is ever
    overshot, whatever the number of processes. A rule with several limits first checks
    them all, then counts in each, shortest window first; only when another process takes
    the last slot of a longer window between those steps is the hit refused after it was
    counted in the shorter ones, which errs on the side of refusing.
    """

    def __init__(self, rules: dict[str, str], storage: str = "memory://") -> None:
        self._rules = {name: _parse_rule(name, text) for name, text in rules.items()}
        self.shared = urlsplit(storage).scheme != "memory"
        if self.shared:
            self._shared = _shared_strategy(storage)
        elif storage.rstrip("/") != "memory:":
            raise ValueError(
                f"BUGFIXER_RATE_LIMIT_STORAGE={storage!r}: memory:// takes no host or options"
            )
        self._storage = _Storage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._lock = threading.Lock()
        self._next_sweep = time.time() + SWEEP_INTERVAL_S

    async def hit(self, rule: str, key: str) -> None:
        """Count one hit for `key` under `rule`, or raise RateLimited without counting it.

        Raises RateLimitUnavailable when the shared storage does not answer.
        """
        items = self._rules[rule]
        if not items:
            return
        if self.shared:
            await self._hit_shared(rule, key, items)
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
            raise self._refusal(rule, self._window_stats(rule, key, items))

    async def _hit_shared(self, rule: str, key: str, items: tuple[RateLimitItem, ...]) -> None:
        strategy = self._shared
        try:
            if len(items) == 1:
                if await strategy.hit(items[0], rule, key):
                    return
            elif await self._test_all(rule, key, items):
                by_window = sorted(items, key=lambda i: i.get_expiry())
                for item in by_window:
                    if not await strategy.hit(item, rule, key):
                        break
                else:
                    return
            stats = [await strategy.get_window_stats(i, rule, key) for i in items]
        except StorageError as exc:
            log.error("rate limit storage unreachable: %s", exc.storage_error)
            raise RateLimitUnavailable() from None
        raise self._refusal(rule, list(zip(items, stats, strict=True)))

    async def _test_all(self, rule: str, key: str, items: tuple[RateLimitItem, ...]) -> bool:
        for item in items:
            if not await self._shared.test(item, rule, key):
                return False
        return True

    def _window_stats(self, rule: str, key: str, items: tuple[RateLimitItem, ...]) -> list:  # type: ignore[type-arg]
        return [(item, self._strategy.get_window_stats(item, rule, key)) for item in items]

    def _refusal(self, rule: str, stats: list) -> RateLimited:  # type: ignore[type-arg]
        now = time.time()
        worst: RateLimitItem = stats[0][0]
        wait = 0.0
        for item, window in stats:
            if window.remaining < 1 and window.reset_time - now >= wait:
                worst, wait = item, window.reset_time - now
        # Past the moment the slot frees, never on it: at that exact instant the
        # window still counts the oldest hit.
        retry_after = max(1, int(wait) + 1)
        return RateLimited(rule=rule, limit=str(worst), retry_after=retry_after)

    async def check(self) -> str | None:
        """Why the storage cannot be used now, or None when it answers (readiness)."""
        if not self.shared:
            return None
        if await self._shared.storage.check():
            return None
        return "the rate limit storage (Redis) does not answer"

    async def aclose(self) -> None:
        """Drop the shared storage's connections (they belong to the current event loop)."""
        if self.shared:
            await self._shared.storage.bridge.get_connection().aclose()

    def memory_use(self) -> tuple[int, int]:
        """How many (rule, key, limit) windows and hits are held in memory, for monitoring."""
        with self._lock:
            events = self._storage.events
            return len(events), sum(map(len, events.values()))

    async def reset(self) -> None:
        """Clear every counter (tests)."""
        if self.shared:
            await self._shared.storage.reset()
            return
        with self._lock:
            self._storage.reset()
            self._next_sweep = time.time() + SWEEP_INTERVAL_S
