"""How fast the admin metrics API answers over a big PostgreSQL database.

Creates a fresh database on the given PostgreSQL server, migrates it, loads a synthetic
history with COPY (by default 1 000 000 product events and 100 000 fixes over 90 days,
with the visitors, accounts, subscriptions and ledger rows that go with them), then
serves the app against it and times ``GET /api/v1/admin/metrics`` (and the /admin page)
for several periods. Prints the numbers; asserts nothing. The database is dropped
afterwards unless --keep is given.

    .venv/bin/python bench/bench_admin_metrics.py \\
        --url postgresql+psycopg://postgres@127.0.0.1:55446/postgres

The URL defaults to $BUGFIXER_BENCH_POSTGRES_URL or $BUGFIXER_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bugfixer import flows, migrate  # noqa: E402
from bugfixer.accounts import service as accounts  # noqa: E402
from bugfixer.analytics.events import link_of, visit_of, visitor_key  # noqa: E402
from bugfixer.db import make_engine  # noqa: E402

PLANS = {"monthly": (500, "month", 1), "quarterly": (1200, "month", 3), "annual": (5000, "year", 1)}
MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("builtin", "builtin-rules")]
PASSWORD = "bench password 0123456789"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("BUGFIXER_BENCH_POSTGRES_URL")
        or os.environ.get("BUGFIXER_TEST_POSTGRES_URL"),
        help="A PostgreSQL server URL (a database is created on it and dropped after).",
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="Product events to load.")
    parser.add_argument("--fixes", type=int, default=100_000, help="Fixes to load.")
    parser.add_argument("--days", type=int, default=90, help="Days the history spans.")
    parser.add_argument("--runs", type=int, default=15, help="Timed requests per period.")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--seed", type=int, default=11, help="Random seed of the history.")
    parser.add_argument(
        "--reuse", metavar="DATABASE", help="Time a database kept by --keep; load nothing."
    )
    parser.add_argument(
        "--periods", default="7,30,90", help="Comma-separated ?days= values to time."
    )
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("give --url (a PostgreSQL server) or set BUGFIXER_BENCH_POSTGRES_URL")
    if args.reuse:
        url = sa.make_url(args.url).set(database=args.reuse).render_as_string(hide_password=False)
        print(calibration(url))
        time_requests(url, runs=args.runs, periods=_periods(args.periods))
        return

    with fresh_database(args.url, keep=args.keep) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        started = time.perf_counter()
        counts = load(url, events=args.events, fixes=args.fixes, days=args.days, seed=args.seed)
        loaded_s = time.perf_counter() - started
        print(f"loaded in {loaded_s:.1f} s: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
        print(calibration(url))
        time_requests(url, runs=args.runs, periods=_periods(args.periods))


def _periods(raw: str) -> list[int]:
    try:
        return [int(p) for p in raw.split(",") if p.strip()]
    except ValueError:
        raise SystemExit(f"--periods takes numbers of days like 7,30,90, not {raw!r}") from None


@contextmanager
def fresh_database(server_url: str, *, keep: bool) -> Iterator[str]:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"bugfixer_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def _libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load(url: str, *, events: int, fixes: int, days: int, seed: int) -> dict[str, int]:
    """A plausible history: mostly page views, a tenth fixes, a few thousand payments."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()

    def when() -> datetime:
        return start + timedelta(seconds=rng.random() * span)

    n_users = max(events // 50, 10)
    n_visitors = max(events // 5, 10)
    n_subs = max(n_users // 10, 3)
    counts: dict[str, int] = {}
    # Events go through a second connection: one connection runs one COPY at a time.
    with (
        psycopg.connect(_libpq(url)) as conn,
        conn.cursor() as cur,
        psycopg.connect(_libpq(url)) as events_conn,
        events_conn.cursor() as events_cur,
    ):
        trial_ids = range(1, n_visitors + n_users + 1)
        with cur.copy("COPY trials (id, free_used, created_at) FROM STDIN") as copy:
            for i in trial_ids:
                copy.write_row((i, rng.randint(0, 3), start))
        with cur.copy(
            "COPY users (id, email, password_hash, is_admin, trial_id, created_at, "
            "password_changed_at) FROM STDIN"
        ) as copy:
            for u in range(1, n_users + 1):
                joined = when()
                copy.write_row(
                    (u, f"user{u}@example.com", "x", False, n_visitors + u, joined, joined)
                )
        visitors = [secrets.token_urlsafe(24) for _ in range(n_visitors)]
        keys = {v: visitor_key(v) for v in visitors}
        with cur.copy("COPY visitors (id, trial_id, user_id, created_at) FROM STDIN") as copy:
            for i, v in enumerate(visitors):
                user = i + 1 if i < n_users else None
                copy.write_row((v, i + 1, user, start))
        counts.update(users=n_users, visitors=n_visitors)

        event_rows = 0
        # The roll-ups, derived from each event as record_event does.
        visits: set[tuple[object, int]] = set()
        links: dict[int, int] = {}
        with events_cur.copy(
            "COPY product_events (occurred_at, kind, visitor_id, visitor_key, user_id, "
            "properties) FROM STDIN"
        ) as events_copy:

            def event(kind: str, at: datetime, visitor: str | None, user: int | None, **props):  # type: ignore[no-untyped-def]
                nonlocal event_rows
                key = keys[visitor] if visitor else None
                events_copy.write_row((at, kind, visitor, key, user, json.dumps(props)))
                event_rows += 1
                row = {"kind": kind, "occurred_at": at, "user_id": user, "visitor_key": key}
                if (visit := visit_of(row)) is not None:
                    visits.add(visit)
                if (link := link_of(row)) is not None:
                    links.setdefault(*link)  # a browser's first account

            for u in range(1, n_users + 1):  # the accounts: a sign-up links a browser
                event("signed_up", when(), visitors[u - 1], u)
            with cur.copy(
                "COPY fixes (id, visitor_id, user_id, status, language, code, error, "
                "explanation, fixed_code, diff, verification, provider, model, created_at) "
                "FROM STDIN"
            ) as fix_copy:
                usage = []
                for _ in range(fixes):
                    at = when()
                    i = rng.randrange(n_visitors)
                    user = i + 1 if i < n_users and rng.random() < 0.5 else None
                    fixed = rng.random() < 0.9
                    provider, model = rng.choice(MODELS)
                    fix_id = secrets.token_urlsafe(16)
                    prompt, completion = rng.randint(300, 3000), rng.randint(100, 900)
                    latency = int(rng.lognormvariate(7, 0.5))
                    fix_copy.write_row(
                        (
                            fix_id,
                            None if user else visitors[i],
                            user,
                            "fixed" if fixed else "no_fix",
                            "python",
                            "print 'hi'",
                            "",
                            "Python 3 print is a function.",
                            "print('hi')" if fixed else None,
                            "",
                            '{"ok": true, "checks": []}',
                            provider,
                            model,
                            at,
                        )
                    )
                    plan = "monthly" if user and rng.random() < 0.3 else "free"
                    event(
                        "fix_completed" if fixed else "fix_no_fix",
                        at,
                        None if user else visitors[i],
                        user,
                        plan=plan,
                        language="python",
                        provider=provider,
                        model=model,
                        prompt_tokens=prompt,
                        completion_tokens=completion,
                        latency_ms=latency,
                    )
                    if fixed:
                        usage.append(
                            (
                                None if user else visitors[i],
                                user,
                                (n_visitors + user) if user else i + 1,
                                fix_id,
                                "free" if plan == "free" else "paid",
                                provider,
                                model,
                                prompt,
                                completion,
                                latency,
                                prompt // 10,
                                at,
                            )
                        )
            with cur.copy(
                "COPY usage_records (visitor_id, user_id, trial_id, fix_id, kind, provider, "
                "model, prompt_tokens, completion_tokens, latency_ms, cost_microusd, created_at) "
                "FROM STDIN"
            ) as usage_copy:
                for row in usage:
                    usage_copy.write_row(row)
            counts.update(fixes=fixes, usage_records=len(usage))

            subs, ledger = [], []
            for s in range(n_subs):
                user = s + 1
                plan = rng.choice(list(PLANS))
                amount, interval, interval_count = PLANS[plan]
                at = when()
                canceled = rng.random() < 0.15
                subs.append(
                    (
                        f"sub_bench{s}",
                        user,
                        f"cus_bench{s}",
                        plan,
                        f"price_{plan}",
                        amount,
                        "usd",
                        interval,
                        interval_count,
                        "canceled" if canceled else "active",
                        at,
                        at + timedelta(days=30),
                        canceled,
                        at + timedelta(days=5) if canceled else None,
                        at + timedelta(days=5) if canceled else None,
                        at,
                        at,
                    )
                )
                event("checkout_started", at, visitors[user - 1], user, plan=plan)
                event("checkout_completed", at, None, user, plan=plan)
                ledger.append((user, "payment", amount, plan, f"in_bench{s}", f"sub_bench{s}", at))
                if canceled:
                    event("subscription_canceled", at + timedelta(days=5), None, user, plan=plan)
                if rng.random() < 0.05:
                    ledger.append((user, "refund", -amount, plan, f"re_bench{s}", None, at))
                    event("refund", at, None, user, plan=plan, amount_cents=amount)
                if rng.random() < 0.05:
                    ledger.append(
                        (user, "payment_failed", amount, plan, f"in_fail{s}", f"sub_bench{s}", at)
                    )
                    event("payment_failed", at, None, user, plan=plan, amount_cents=amount)
            with cur.copy(
                "COPY subscriptions (id, user_id, stripe_customer_id, plan_code, price_id, "
                "amount_cents, currency, interval, interval_count, status, current_period_start, "
                "current_period_end, cancel_at_period_end, canceled_at, ended_at, created_at, "
                "updated_at) FROM STDIN"
            ) as copy:
                for row in subs:
                    copy.write_row(row)
            with cur.copy(
                "COPY transactions (user_id, kind, amount_cents, currency, plan_code, "
                "stripe_object_id, stripe_subscription_id, occurred_at, created_at) FROM STDIN"
            ) as copy:
                for user, kind, amount, plan, obj, sub, at in ledger:
                    copy.write_row((user, kind, amount, "usd", plan, obj, sub, at, at))
            counts.update(subscriptions=len(subs), transactions=len(ledger))

            # The rest: views of the fix page and pricing, paywalls; mostly anonymous.
            views = ("page_view",) * 16 + ("pricing_viewed", "paywall_shown")
            while event_rows < events:
                i = rng.randrange(n_visitors)
                user = i + 1 if i < n_users and rng.random() < 0.3 else None
                kind = rng.choice(views)
                props = {"via": "402"} if kind == "paywall_shown" else {}
                event(kind, when(), visitors[i], user, **props)
        counts["product_events"] = event_rows
        # A row per person and day (a browser's days are its account's), each with the
        # person's day before.
        days_of: dict[int, set[object]] = {}
        for day, who in visits:
            days_of.setdefault(links.get(who, who), set()).add(day)
        person_days = 0
        with cur.copy("COPY visitor_days (visitor_key, day, prev_day) FROM STDIN") as copy:
            for who, days in sorted(days_of.items()):
                prev = None
                for day in sorted(days):  # type: ignore[type-var]
                    copy.write_row((who, day, prev))
                    prev = day
                    person_days += 1
        with cur.copy("COPY visitor_links (visitor_key, user_id) FROM STDIN") as copy:
            for row in sorted(links.items()):
                copy.write_row(row)
        counts.update(visitor_days=person_days, visitor_links=len(links))
        for table in ("trials", "users"):  # ids given above: move the sequences past them
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            cur.execute(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))")
        conn.commit()
        events_conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    return counts


def calibration(url: str) -> str:
    """How fast this machine is right now, to read the timings by (shared CI machines vary)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.exec_driver_sql("SELECT count(*) FROM generate_series(1, 10000000)").scalar()
        pg_ms = (time.perf_counter() - started) * 1000
    engine.dispose()
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    py_ms = (time.perf_counter() - started) * 1000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"machine: load average {load:.1f} on {os.cpu_count()} CPUs; PostgreSQL counts 10M "
        f"generated rows in {pg_ms:.0f} ms, Python sums 5M ints in {py_ms:.0f} ms"
    )


@contextmanager
def served(url: str) -> Iterator[tuple[str, str, int]]:
    """`bugfixer serve` on the loaded database, with an administrator's API key."""
    from bugfixer.db import Database

    db = Database.from_url(url)
    prepared = accounts.prepare_account(email="bench-admin@example.com", password=PASSWORD)
    db.write_now(flows.make_admin, email="bench-admin@example.com", account=prepared)
    admin = db.read_now(accounts.find_user, email="bench-admin@example.com")
    key = db.write_now(accounts.create_api_key, user_id=admin.id, name="bench").secret
    db.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "BUGFIXER_ENV": "test",
        "BUGFIXER_INSTANCE_DIR": tempfile.mkdtemp(prefix="bench-admin-"),
        "BUGFIXER_DATABASE_URL": url,
        "BUGFIXER_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "BUGFIXER_LLM_PROVIDER": "builtin",
        "BUGFIXER_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bugfixer", "serve", "--port", str(port)], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up")
            time.sleep(0.2)
        yield base, key, server.pid
    finally:
        server.terminate()
        server.wait(10)


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return []


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU a process has used (Linux /proc); with ``children``, that of its
    children that have exited instead."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU the app process and the database's backends spend, which a busy shared machine
    inflates far less than it inflates wall time. Parallel query workers come and go
    between two samples: their CPU is read from the postmaster's exited children (on this
    private server that is the workers, and an autovacuum worker now and then)."""

    def __init__(self, url: str, server_pid: int) -> None:
        self.server_pid = server_pid
        self.database = sa.make_url(url).database
        self.conn = psycopg.connect(_libpq(url), autocommit=True)
        self.postmaster = int(_stat(self.conn.info.backend_pid)[1])

    def backends(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ).fetchall()
        return [pid for (pid,) in rows]

    def sample(self) -> tuple[float, dict[int, float], float]:
        return (
            cpu_seconds(self.server_pid),
            {p: cpu_seconds(p) for p in self.backends()},
            cpu_seconds(self.postmaster, children=True),
        )

    def spent(self, before: tuple[float, dict[int, float], float]) -> tuple[float, float]:
        app_after, db_after, exited_after = self.sample()
        db = sum(max(0.0, cpu - before[1].get(pid, cpu)) for pid, cpu in db_after.items())
        return app_after - before[0], db + exited_after - before[2]


def time_requests(url: str, *, runs: int, periods: list[int]) -> None:
    with (
        served(url) as (base, key, pid),
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client,
    ):
        meter = CpuMeter(url, pid)
        print(
            f"{'request':<38} {'min':>6} {'median':>7} {'p90':>6}   "
            f"{'app CPU':>7} {'db CPU':>7}  (ms; {runs} runs; CPU per request)"
        )
        for days in periods:
            path = f"/api/v1/admin/metrics?days={days}"
            print(_row(f"GET {path}", *_times(client, meter, path, runs)))
            body = client.get(path).json()
            print(
                f"  {body['fixes']['total']:,} fixes, {body['funnel']['visitors']:,} visitors, "
                f"MRR ${body['mrr_cents'] / 100:,.2f}, LLM ${body['llm']['cost_usd']:,.2f}"
            )
        # The page needs a session (an API key only opens /api/): sign in, then time it.
        page = httpx.Client(base_url=base, timeout=120)
        token = _csrf(page, "/login")
        page.post(
            "/login",
            data={"email": "bench-admin@example.com", "password": PASSWORD, "csrf_token": token},
        )
        print(_row("GET /admin?days=30 (HTML)", *_times(page, meter, "/admin?days=30", runs)))
        page.close()


def _csrf(client: httpx.Client, path: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _times(
    client: httpx.Client, meter: CpuMeter, path: str, runs: int
) -> tuple[list[float], float, float]:
    for _ in range(2):  # warm: connections, plan cache
        assert client.get(path).status_code == 200
    times = []
    before = meter.sample()
    for _ in range(runs):
        started = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text[:200]
    app_cpu, db_cpu = meter.spent(before)
    return times, app_cpu * 1000 / runs, db_cpu * 1000 / runs


def _row(label: str, times: list[float], app_ms: float, db_ms: float) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (
        f"{label:<38} {ordered[0]:>6.0f} {statistics.median(ordered):>7.0f} {p90:>6.0f}   "
        f"{app_ms:>7.0f} {db_ms:>7.0f}"
    )


if __name__ == "__main__":
    main()
