from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import limits.storage.memory
import pytest
from limits.strategies import MovingWindowRateLimiter

import bugfixer.ratelimit
from bugfixer.ratelimit import RateLimited, RateLimiter


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
    # `limits` offers no clock injection: MemoryStorage calls `time.time()` through its
    # module's `time` global, so that is what we replace, along with ours.
    fake = FrozenTime(1_700_000_000.0)
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(bugfixer.ratelimit, "time", fake)
    return fake


def refused(limiter: RateLimiter, rule: str, key: str) -> RateLimited:
    with pytest.raises(RateLimited) as info:
        limiter.hit(rule, key)
    return info.value


def test_hits_under_the_limit_pass(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "3/minute"})
    for _ in range(3):
        limiter.hit("login", "1.2.3.4")


def test_hit_over_the_limit_is_refused_with_retry_after(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "3/minute"})
    limiter.hit("login", "k")
    clock.advance(10)
    limiter.hit("login", "k")
    limiter.hit("login", "k")

    exc = refused(limiter, "login", "k")

    assert exc.retry_after >= 1
    assert 50 <= exc.retry_after <= 51  # the first hit leaves the window 50 s from now
    assert exc.limit == "3 per 1 minute"
    assert exc.rule == "login"
    assert exc.status == 429
    assert exc.headers["Retry-After"] == str(exc.retry_after)
    assert "3 per 1 minute" in exc.message


def test_retry_after_is_long_enough_but_not_much_longer(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "1/minute"})
    limiter.hit("login", "k")
    retry_after = refused(limiter, "login", "k").retry_after

    clock.advance(retry_after - 2)
    refused(limiter, "login", "k")
    clock.advance(2)
    limiter.hit("login", "k")


def test_separate_keys_are_counted_separately(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "2/minute"})
    limiter.hit("login", "alice@example.com")
    limiter.hit("login", "alice@example.com")
    refused(limiter, "login", "alice@example.com")

    limiter.hit("login", "bob@example.com")
    limiter.hit("login", "bob@example.com")


def test_separate_rules_are_counted_separately(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "2/minute", "reset": "2/minute"})
    limiter.hit("login", "k")
    limiter.hit("login", "k")
    refused(limiter, "login", "k")

    limiter.hit("reset", "k")
    limiter.hit("reset", "k")


def test_every_limit_of_a_rule_applies(clock: FrozenTime) -> None:
    limiter = RateLimiter({"signup": "2/minute;3/hour"})
    limiter.hit("signup", "k")
    limiter.hit("signup", "k")
    per_minute = refused(limiter, "signup", "k")
    assert per_minute.limit == "2 per 1 minute"
    assert per_minute.retry_after <= 61

    clock.advance(per_minute.retry_after)
    limiter.hit("signup", "k")
    per_hour = refused(limiter, "signup", "k")

    assert per_hour.limit == "3 per 1 hour"
    assert 3600 - 61 <= per_hour.retry_after <= 3600


def test_refused_hits_are_not_counted(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "2/minute"})
    limiter.hit("login", "k")
    limiter.hit("login", "k")
    for _ in range(10):
        clock.advance(5)
        refused(limiter, "login", "k")

    clock.advance(11)  # 61 s after the two hits; the refusals must not hold the window
    limiter.hit("login", "k")
    limiter.hit("login", "k")


def test_hits_refused_by_one_limit_do_not_use_up_the_others(clock: FrozenTime) -> None:
    limiter = RateLimiter({"signup": "2/minute;5/hour"})
    limiter.hit("signup", "k")
    limiter.hit("signup", "k")
    for _ in range(10):
        refused(limiter, "signup", "k")

    clock.advance(61)
    limiter.hit("signup", "k")
    limiter.hit("signup", "k")
    assert refused(limiter, "signup", "k").limit == "2 per 1 minute"
    clock.advance(61)
    limiter.hit("signup", "k")
    assert refused(limiter, "signup", "k").limit == "5 per 1 hour"


@pytest.mark.parametrize("text", ["10/fortnight", "ten/minute", "10/minute;", "10", "0/minute"])
def test_invalid_rule_text_is_rejected_naming_the_rule(text: str) -> None:
    with pytest.raises(ValueError, match="fix_ip") as info:
        RateLimiter({"login": "10/minute", "fix_ip": text})
    assert text in str(info.value)


@pytest.mark.parametrize("text", ["", "  "])
def test_empty_rule_is_unlimited(clock: FrozenTime, text: str) -> None:
    limiter = RateLimiter({"fix": text})
    for _ in range(10_000):
        limiter.hit("fix", "k")


def test_unknown_rule_is_a_key_error() -> None:
    limiter = RateLimiter({"login": "1/minute"})
    with pytest.raises(KeyError):
        limiter.hit("logn", "k")


def test_reset_clears_all_counters(clock: FrozenTime) -> None:
    limiter = RateLimiter({"login": "1/minute"})
    limiter.hit("login", "k")
    limiter.reset()
    limiter.hit("login", "k")


@pytest.fixture
def busy_switching(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make races show up: switch threads often, and right after a limit is checked."""
    check = MovingWindowRateLimiter.test

    def check_then_yield(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = check(self, *args, **kwargs)
        time.sleep(0)
        return result

    monkeypatch.setattr(MovingWindowRateLimiter, "test", check_then_yield)
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def count_passing(limiter: RateLimiter, rule: str, key: str, attempts: int) -> int:
    passed = 0
    for _ in range(attempts):
        try:
            limiter.hit(rule, key)
            passed += 1
        except RateLimited:
            pass
    return passed


@pytest.mark.parametrize(
    ("rule", "later"),
    [("5/minute", 5), ("8/hour;5/minute", 3)],  # 8/hour: refusals must not spend it
)
def test_eight_threads_on_one_key_get_exactly_the_limit(
    clock: FrozenTime, busy_switching: None, rule: str, later: int
) -> None:
    limiter = RateLimiter({"fix": rule})
    keys = [f"shared-{i}" for i in range(100)]
    start = threading.Barrier(8)
    passed = dict.fromkeys(keys, 0)
    count_lock = threading.Lock()
    failed: list[BaseException] = []

    def hammer() -> None:
        try:
            for key in keys:
                start.wait()  # all threads race for each key together
                n = count_passing(limiter, "fix", key, 4)
                with count_lock:
                    passed[key] += n
        except BaseException as exc:
            failed.append(exc)
            start.abort()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failed == []
    assert set(passed.values()) == {5}
    clock.advance(61)
    assert {count_passing(limiter, "fix", key, 10) for key in keys} == {later}


def test_idle_keys_are_forgotten(clock: FrozenTime) -> None:
    limiter = RateLimiter({"fix_ip": "5/minute"})
    for i in range(100):
        limiter.hit("fix_ip", f"10.0.0.{i}")
    clock.advance(30)
    limiter.hit("fix_ip", "busy")
    assert limiter.memory_use() == (101, 101)

    clock.advance(45)  # past the others' window and the sweep interval, not busy's window
    limiter.hit("fix_ip", "new")

    assert limiter.memory_use() == (2, 2)
    for _ in range(4):
        limiter.hit("fix_ip", "busy")
    refused(limiter, "fix_ip", "busy")


def test_a_busy_key_holds_only_its_recent_hits(clock: FrozenTime) -> None:
    limiter = RateLimiter({"fix_ip": "5/second"})
    for _ in range(1000):
        for _ in range(5):
            limiter.hit("fix_ip", "busy")
        clock.advance(1.01)

    windows, hits = limiter.memory_use()
    assert windows == 1
    assert hits <= 5 * (bugfixer.ratelimit.SWEEP_INTERVAL_S + 2)
