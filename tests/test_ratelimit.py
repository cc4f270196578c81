"""Rate limits behave the same in memory and in Redis; Redis shares them between processes."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import anyio
import limits.aio.storage.redis.redispy
import limits.storage.memory
import pytest

import bugfixer.ratelimit
from bugfixer.ratelimit import RateLimited, RateLimiter, RateLimitUnavailable

pytestmark = pytest.mark.anyio

MakeLimiter = Callable[[dict[str, str]], RateLimiter]


class FrozenTime:
    """Stands in for the `time` module where `limits` and our limiter read the clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenTime:
    # `limits` offers no clock injection: its memory storage and its Redis bridge (which
    # sends the client's timestamps to its scripts) call `time.time()` through their
    # module's `time` global, so that is what we replace, along with ours.
    fake = FrozenTime(1_700_000_000.0)
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(limits.aio.storage.redis.redispy, "time", fake)
    monkeypatch.setattr(bugfixer.ratelimit, "time", fake)
    return fake


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def storage(request: pytest.FixtureRequest) -> str:
    """Each behaviour test runs with counters in memory and in the test Redis."""
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_url")


@pytest.fixture
async def make_limiter(storage: str) -> AsyncIterator[MakeLimiter]:
    made: list[RateLimiter] = []

    def make(rules: dict[str, str]) -> RateLimiter:
        made.append(RateLimiter(rules, storage))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.aclose()


async def refused(limiter: RateLimiter, rule: str, key: str) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        await limiter.hit(rule, key)
    return info.value


async def count_passing(limiter: RateLimiter, rule: str, key: str, attempts: int) -> int:
    passed = 0
    for _ in range(attempts):
        try:
            await limiter.hit(rule, key)
            passed += 1
        except RateLimited:
            pass
    return passed


async def test_hits_under_the_limit_pass(clock: FrozenTime, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"login": "3/minute"})
    assert await count_passing(limiter, "login", "1.2.3.4", 3) == 3


async def test_hit_over_the_limit_is_refused_with_retry_after(
    clock: FrozenTime, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter({"login": "3/minute"})
    await limiter.hit("login", "k")
    clock.advance(10)
    await limiter.hit("login", "k")
    await limiter.hit("login", "k")

    exc = await refused(limiter, "login", "k")

    assert 50 <= exc.retry_after <= 51  # the first hit leaves the window 50 s from now
    assert exc.limit == "3 per 1 minute"
    assert exc.rule == "login"
    assert exc.status == 429
    assert exc.headers["Retry-After"] == str(exc.retry_after)
    assert "3 per 1 minute" in exc.message


async def test_retry_after_is_long_enough_but_not_much_longer(
    clock: FrozenTime, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter({"login": "1/minute"})
    await limiter.hit("login", "k")
    retry_after = (await refused(limiter, "login", "k")).retry_after

    clock.advance(retry_after - 2)
    await refused(limiter, "login", "k")
    clock.advance(2)
    await limiter.hit("login", "k")


async def test_separate_keys_and_rules_are_counted_separately(
    clock: FrozenTime, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter({"login": "2/minute", "reset": "2/minute"})
    assert await count_passing(limiter, "login", "alice@example.com", 3) == 2
    assert await count_passing(limiter, "login", "bob@example.com", 3) == 2
    assert await count_passing(limiter, "reset", "alice@example.com", 3) == 2


async def test_every_limit_of_a_rule_applies(clock: FrozenTime, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"signup": "2/minute;3/hour"})
    await limiter.hit("signup", "k")
    await limiter.hit("signup", "k")
    per_minute = await refused(limiter, "signup", "k")
    assert per_minute.limit == "2 per 1 minute"
    assert per_minute.retry_after <= 61

    clock.advance(per_minute.retry_after)
    await limiter.hit("signup", "k")
    per_hour = await refused(limiter, "signup", "k")

    assert per_hour.limit == "3 per 1 hour"
    assert 3600 - 61 <= per_hour.retry_after <= 3600


async def test_refused_hits_are_not_counted(clock: FrozenTime, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"login": "2/minute"})
    await limiter.hit("login", "k")
    await limiter.hit("login", "k")
    for _ in range(10):
        clock.advance(5)
        await refused(limiter, "login", "k")

    clock.advance(11)  # 61 s after the two hits; the refusals must not hold the window
    assert await count_passing(limiter, "login", "k", 2) == 2


async def test_hits_refused_by_one_limit_do_not_use_up_the_others(
    clock: FrozenTime, make_limiter: MakeLimiter
) -> None:
    limiter = make_limiter({"signup": "2/minute;5/hour"})
    await limiter.hit("signup", "k")
    await limiter.hit("signup", "k")
    for _ in range(10):
        await refused(limiter, "signup", "k")

    clock.advance(61)
    await limiter.hit("signup", "k")
    await limiter.hit("signup", "k")
    assert (await refused(limiter, "signup", "k")).limit == "2 per 1 minute"
    clock.advance(61)
    await limiter.hit("signup", "k")
    assert (await refused(limiter, "signup", "k")).limit == "5 per 1 hour"


@pytest.mark.parametrize("text", ["", "  "])
async def test_empty_rule_is_unlimited(
    clock: FrozenTime, make_limiter: MakeLimiter, text: str
) -> None:
    limiter = make_limiter({"fix": text})
    assert await count_passing(limiter, "fix", "k", 1000) == 1000


async def test_reset_clears_all_counters(clock: FrozenTime, make_limiter: MakeLimiter) -> None:
    limiter = make_limiter({"login": "1/minute"})
    await limiter.hit("login", "k")
    await limiter.reset()
    await limiter.hit("login", "k")


@pytest.mark.parametrize(
    ("rule", "later"),
    [("5/minute", 5), ("8/hour;5/minute", 3)],  # 8/hour: refusals must not spend it
)
async def test_concurrent_hits_from_two_limiters_get_exactly_the_limit(
    clock: FrozenTime, make_limiter: MakeLimiter, storage: str, rule: str, later: int
) -> None:
    """Two limiters on one Redis are two processes; in memory each counts alone."""
    limiters = [make_limiter({"fix": rule}), make_limiter({"fix": rule})]
    shared = storage != "memory://"
    keys = [f"shared-{i}" for i in range(20)]
    passed = dict.fromkeys(keys, 0)

    async def hammer(limiter: RateLimiter, key: str) -> None:
        n = await count_passing(limiter, "fix", key, 4)
        passed[key] += n

    async with anyio.create_task_group() as tasks:
        for key in keys:
            for limiter in limiters:
                for _ in range(4):
                    tasks.start_soon(hammer, limiter, key)

    assert set(passed.values()) == {5 if shared else 10}
    clock.advance(61)
    again = {await count_passing(limiters[0], "fix", key, 10) for key in keys}
    assert again == {later}


@pytest.mark.parametrize("text", ["10/fortnight", "ten/minute", "10/minute;", "10", "0/minute"])
def test_invalid_rule_text_is_rejected_naming_the_rule(text: str) -> None:
    with pytest.raises(ValueError, match="fix_ip") as info:
        RateLimiter({"login": "10/minute", "fix_ip": text})
    assert text in str(info.value)


@pytest.mark.parametrize(
    "uri", ["memcached://127.0.0.1:11211", "memory://somewhere", "postgresql://x/y", "redis"]
)
def test_unsupported_storage_is_rejected_naming_the_setting(uri: str) -> None:
    with pytest.raises(ValueError, match="BUGFIXER_RATE_LIMIT_STORAGE"):
        RateLimiter({"login": "10/minute"}, uri)


async def test_unknown_rule_is_a_key_error() -> None:
    limiter = RateLimiter({"login": "1/minute"})
    with pytest.raises(KeyError):
        await limiter.hit("logn", "k")


async def test_idle_keys_are_forgotten_in_memory(clock: FrozenTime) -> None:
    limiter = RateLimiter({"fix_ip": "5/minute"})
    for i in range(100):
        await limiter.hit("fix_ip", f"10.0.0.{i}")
    clock.advance(30)
    await limiter.hit("fix_ip", "busy")
    assert limiter.memory_use() == (101, 101)

    clock.advance(45)  # past the others' window and the sweep interval, not busy's window
    await limiter.hit("fix_ip", "new")

    assert limiter.memory_use() == (2, 2)
    assert await count_passing(limiter, "fix_ip", "busy", 5) == 4


async def test_a_busy_key_holds_only_its_recent_hits_in_memory(clock: FrozenTime) -> None:
    limiter = RateLimiter({"fix_ip": "5/second"})
    for _ in range(1000):
        for _ in range(5):
            await limiter.hit("fix_ip", "busy")
        clock.advance(1.01)

    windows, hits = limiter.memory_use()
    assert windows == 1
    assert hits <= 5 * (bugfixer.ratelimit.SWEEP_INTERVAL_S + 2)


# -- Redis that is not there ------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_redis_refuses_with_503_and_says_why() -> None:
    limiter = RateLimiter({"fix": "5/minute"}, f"redis://127.0.0.1:{closed_port()}/0")
    try:
        with pytest.raises(RateLimitUnavailable) as info:
            await limiter.hit("fix", "k")
        assert info.value.status == 503 and info.value.headers["Retry-After"]
        assert await limiter.check() == "the rate limit storage (Redis) does not answer"
    finally:
        await limiter.aclose()


async def test_redis_that_accepts_but_never_answers_fails_instead_of_hanging() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete in the kernel; nobody ever reads them
        port = silent.getsockname()[1]
        limiter = RateLimiter({"fix": "5/minute"}, f"redis://127.0.0.1:{port}/0")
        try:
            with anyio.fail_after(30):  # a hang fails the test here instead of stalling it
                with pytest.raises(RateLimitUnavailable):
                    await limiter.hit("fix", "k")
                assert await limiter.check() is not None
        finally:
            await limiter.aclose()
