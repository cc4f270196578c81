"""The operator's numbers: aggregate SQL over product events, subscriptions and the ledger.

Read-only. Every query filters on an indexed time column and returns a handful of rows
per day, so the cost grows with the events of the period, not with the database. One
function (``report``) serves the JSON API, the page and the CSV exports alike.

Who is a "browser/account": an event's account if it has one, else the account its
browser first signed up or in with (the ``visitor_links`` roll-up), else the browser.
So a visitor who tried free fixes anonymously and then paid is one person. Browsers are
counted by an integer key stored with each event (``visitor_key``). Visitors are counted
over the ``visitor_days`` roll-up (a row per person and UTC day, chained to the person's
previous day), the funnel over a partial index of its own events.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Date, and_, case, cast, distinct, func, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bugfixer.admin.period import Period
from bugfixer.admin.schemas import AdminMetrics, Day, Fixes, Funnel, Latency, Llm, PeriodOut
from bugfixer.analytics import events as kinds
from bugfixer.analytics.models import FUNNEL_WHERE, ProductEvent, VisitorDay, VisitorLink
from bugfixer.billing.models import Subscription, Transaction
from bugfixer.billing.plans import Plan

# Statuses of a subscription that still counts as a customer (past_due until it ends).
LIVE_STATUSES = ("active", "trialing", "past_due")
# How many months one interval is, to normalise a price to a month.
MONTHS_PER = {"day": Fraction(12, 365), "week": Fraction(12, 52), "month": 1, "year": 12}

WORK_MEM = "64MB"

Prices = Callable[[str], tuple[float, float]]
T = TypeVar("T")
# What pg_export_snapshot() answers, such as 00000003-0000001B-1.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")
pe = ProductEvent.__table__
vd = VisitorDay.__table__
links = VisitorLink.__table__
subs = Subscription.__table__
ledger = Transaction.__table__


@dataclass(frozen=True)
class ModelUsage:
    """One provider and model in the period, for the page's LLM table."""

    provider: str
    model: str
    fixes: int
    fixed: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    avg_latency_ms: int


@dataclass(frozen=True)
class Report:
    metrics: AdminMetrics
    by_model: list[ModelUsage]


def day_of(session: Session, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.substr(column, 1, 10)  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS'


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def report(*, session: Session, period: Period, plans: tuple[Plan, ...], prices: Prices) -> Report:
    """Everything the dashboard shows for ``period``, as of one moment.

    On PostgreSQL the funnel and the fixes' latency run beside the others on a second
    connection that shares this transaction's snapshot (as ``pg_dump --jobs`` does), so
    every number still describes the same moment; elsewhere all run in turn.
    """
    in_period = and_(pe.c.occurred_at >= period.since, pe.c.occurred_at < period.before)
    beside, funnel = None, None  # the executor and what it runs (PostgreSQL)
    if session.get_bind().dialect.name == "postgresql":
        snapshot = _share_snapshot(session)
        beside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")
        funnel = beside.submit(
            _in_snapshot, session.get_bind(), snapshot, _funnel_and_latency, in_period
        )
    try:
        fixes_by_day, by_model, fixes, llm = _fix_usage(session, in_period, prices)
        counts = _counts_by_day(session, in_period)
        visitors_by_day, visitors = _visitors(session, period)
        money = _ledger_by_day(session, period)
        new_by_day, churned = _subscription_changes(session, period)
        mrr, active, subscribers = _recurring_revenue(session, plans)
        if funnel is not None:
            steps, latency = funnel.result()
        else:
            steps, latency = _funnel_and_latency(session, in_period, fixes.total)
    finally:
        if beside:
            beside.shutdown()
    tried, paywall, checkout, paid = steps

    daily = [
        Day(
            date=day,
            visitors=visitors_by_day.get(day, 0),
            fixes=fixes_by_day[day]["fixes"],
            paywalls=counts.get((day, kinds.PAYWALL_SHOWN), 0),
            checkouts=counts.get((day, kinds.CHECKOUT_STARTED), 0),
            new_subscriptions=new_by_day.get(day, 0),
            revenue_cents=money.get((day, "payment"), (0, 0))[0],
            llm_cost_usd=round(fixes_by_day[day]["cost"], 6),
        )
        for day in period.dates
    ]
    revenue = sum(d.revenue_cents for d in daily)
    refunds = -sum(v[0] for (_, kind), v in money.items() if kind == "refund")
    metrics = AdminMetrics(
        period=PeriodOut(start=period.start, end=period.end),
        mrr_cents=round(float(mrr), 2),
        arr_cents=round(float(mrr * 12), 2),
        active_subscriptions=active,
        new_subscriptions=sum(new_by_day.values()),
        churned_subscriptions=churned,
        revenue_cents=revenue,
        refunds_cents=refunds,
        failed_payments=sum(v[1] for (_, kind), v in money.items() if kind == "payment_failed"),
        arpu_cents=round(float(mrr / subscribers), 2) if subscribers else 0.0,
        funnel=Funnel(
            visitors=visitors,
            tried_free_fix=tried,
            hit_paywall=paywall,
            started_checkout=checkout,
            paid=paid,
        ),
        fixes=fixes,
        latency_ms=latency,
        llm=llm,
        gross_margin_cents=round(revenue - refunds - llm.cost_usd * 100, 2) + 0.0,  # never -0.0
        daily=daily,
    )
    return Report(metrics=metrics, by_model=by_model)


# -- one moment, two connections (PostgreSQL) -------------------------------------------


def _tune(session: Session) -> None:
    # Room to sort a month of visitors in memory rather than spill to disk; and plans
    # made for this period's dates: psycopg prepares a statement run five times, and a
    # generic plan guesses how many rows a date range holds.
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _share_snapshot(session: Session) -> str:
    """Make this transaction see one snapshot throughout, and export it."""
    session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    _tune(session)
    snapshot = session.scalar(text("SELECT pg_export_snapshot()"))
    if not isinstance(snapshot, str) or not _SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"unexpected snapshot id from PostgreSQL: {snapshot!r}")
    return snapshot


def _in_snapshot(bind: Any, snapshot: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(session, *args)`` in a read-only transaction of its own that sees
    ``snapshot`` (exported by a transaction that is still open)."""
    with Session(bind) as session, session.begin():
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        _tune(session)
        return fn(session, *args)


# -- who did what --------------------------------------------------------------------------


def _actor() -> tuple[ColumnElement[Any], Any]:
    """The person behind an event (an account id, or a browser's negative key), and the
    join that turns a browser that later signed up or in into its account."""
    actor = func.coalesce(
        cast(pe.c.user_id, BigInteger), cast(links.c.user_id, BigInteger), pe.c.visitor_key
    )
    joined = pe.outerjoin(
        links, and_(pe.c.user_id.is_(None), links.c.visitor_key == pe.c.visitor_key)
    )
    return actor, joined


def _visitors(session: Session, period: Period) -> tuple[dict[date, int], int]:
    """Distinct people who visited, per day and in the whole period.

    ``visitor_days`` holds a row per person and day, so a day's people are its rows; and
    each row names the person's previous visit, so the period's people are the rows
    whose previous visit (if any) falls before the period: one index-only scan.
    """
    first_in_period = or_(vd.c.prev_day.is_(None), vd.c.prev_day < period.start)
    rows = session.execute(
        select(vd.c.day, func.count(), func.count().filter(first_in_period))
        .where(vd.c.day.between(period.start, period.end))
        .group_by(vd.c.day)
    ).all()
    return {_as_date(d): n for d, n, _ in rows}, sum(first for _, _, first in rows)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.max(case((condition, 1), else_=0))


def _funnel(session: Session, in_period: ColumnElement[bool]) -> tuple[int, int, int, int]:
    """People who tried a free fix, and of those who hit the paywall, and of those who
    started a checkout, and of those who paid: each step counts those who also reached
    every earlier step, so it never grows.

    A free fix is itself a visit, so the later steps only read the period's free fixes,
    paywalls and checkouts (a small share of the events), not its page views, through a
    partial index that holds just those.
    """
    actor, joined = _actor()
    funnel_events = text(f"({FUNNEL_WHERE[session.get_bind().dialect.name]})")
    flags = (
        select(
            _flag(pe.c.kind.in_(kinds.FIX_KINDS)).label("free_fix"),
            _flag(pe.c.kind == kinds.PAYWALL_SHOWN).label("paywall"),
            _flag(pe.c.kind == kinds.CHECKOUT_STARTED).label("checkout"),
            _flag(pe.c.kind == kinds.CHECKOUT_COMPLETED).label("paid"),
        )
        .select_from(joined)
        .where(in_period, funnel_events, actor.is_not(None))
        .group_by(actor)
        .subquery()
    )
    reached = []
    running: ColumnElement[int] | None = None
    for step in (flags.c.free_fix, flags.c.paywall, flags.c.checkout, flags.c.paid):
        running = step if running is None else running * step
        reached.append(func.coalesce(func.sum(running), 0))
    tried, paywall, checkout, paid = session.execute(select(*reached)).one()
    return int(tried), int(paywall), int(checkout), int(paid)


def _counts_by_day(session: Session, in_period: ColumnElement[bool]) -> dict[tuple[date, str], int]:
    day = day_of(session, pe.c.occurred_at)
    rows = session.execute(
        select(day, pe.c.kind, func.count())
        .where(in_period, pe.c.kind.in_((kinds.PAYWALL_SHOWN, kinds.CHECKOUT_STARTED)))
        .group_by(day, pe.c.kind)
    )
    return {(_as_date(d), kind): n for d, kind, n in rows}


# -- fixes and the LLM ----------------------------------------------------------------------


def _fix_usage(
    session: Session, in_period: ColumnElement[bool], prices: Prices
) -> tuple[dict[date, dict[str, float]], list[ModelUsage], Fixes, Llm]:
    props = pe.c.properties
    day = day_of(session, pe.c.occurred_at)
    is_free = case((props["plan"].as_string() == "free", 1), else_=0)
    provider, model = props["provider"].as_string(), props["model"].as_string()
    rows = session.execute(
        select(
            day,
            pe.c.kind,
            is_free,
            provider,
            model,
            func.count(),
            func.coalesce(func.sum(props["prompt_tokens"].as_integer()), 0),
            func.coalesce(func.sum(props["completion_tokens"].as_integer()), 0),
            func.coalesce(func.sum(props["latency_ms"].as_integer()), 0),
            # Calls to the provider: a repair or extra candidates make more than one.
            func.sum(func.coalesce(props["llm_calls"].as_integer(), 1)),
        )
        .where(in_period, pe.c.kind.in_(kinds.FIX_KINDS))
        .group_by(day, pe.c.kind, is_free, provider, model)
    ).all()
    by_day: dict[date, dict[str, float]] = defaultdict(lambda: {"fixes": 0, "cost": 0.0})
    models: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0])
    totals = defaultdict(int)
    for d, kind, free, prov, mod, n, prompt, completion, latency, calls in rows:
        input_price, output_price = prices(mod or "")
        cost = (prompt * input_price + completion * output_price) / 1_000_000
        fixed = n if kind == kinds.FIX_COMPLETED else 0
        by_day[_as_date(d)]["fixes"] += n
        by_day[_as_date(d)]["cost"] += cost
        entry = models[(prov or "", mod or "")]
        for i, value in enumerate((n, fixed, prompt, completion, cost, latency)):
            entry[i] += value
        totals["fixed"] += fixed
        totals["requests"] += int(calls or 0)
        totals["free" if free else "paid"] += n
    fixes_total = totals["free"] + totals["paid"]
    cost_usd = sum(entry[4] for entry in models.values())
    fixes = Fixes(
        total=fixes_total,
        fixed=totals["fixed"],
        no_fix=fixes_total - totals["fixed"],
        free=totals["free"],
        paid=totals["paid"],
    )
    llm = Llm(
        requests=totals["requests"],
        prompt_tokens=int(sum(entry[2] for entry in models.values())),
        completion_tokens=int(sum(entry[3] for entry in models.values())),
        cost_usd=round(cost_usd, 6),
        cost_per_fix_usd=round(cost_usd / totals["fixed"], 6) if totals["fixed"] else 0.0,
    )
    by_model = [
        ModelUsage(
            provider=prov,
            model=mod,
            fixes=int(n),
            fixed=int(fixed),
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
            cost_usd=round(cost, 6),
            avg_latency_ms=round(latency / n) if n else 0,
        )
        for (prov, mod), (n, fixed, prompt, completion, cost, latency) in sorted(
            models.items(), key=lambda item: -item[1][0]
        )
    ]
    return by_day, by_model, fixes, llm


def _funnel_and_latency(
    session: Session, in_period: ColumnElement[bool], n: int | None = None
) -> tuple[tuple[int, int, int, int], Latency]:
    return _funnel(session, in_period), _latency(session, in_period, n)


def _latency(session: Session, in_period: ColumnElement[bool], n: int | None) -> Latency:
    """Nearest-rank percentiles of the time a fix took (``n``: how many fixes, if known)."""
    if n == 0:
        return Latency(p50=None, p95=None)
    latency = pe.c.properties["latency_ms"].as_integer()
    fixes = and_(in_period, pe.c.kind.in_(kinds.FIX_KINDS))
    if session.get_bind().dialect.name == "postgresql":
        # percentile_disc is the nearest rank: the first value whose rank reaches p * n.
        p50, p95 = session.execute(
            select(
                func.percentile_disc(0.5).within_group(latency),
                func.percentile_disc(0.95).within_group(latency),
            ).where(fixes)
        ).one()
        return Latency(p50=p50, p95=p95)
    if n is None:
        n = session.scalar(select(func.count()).where(fixes)) or 0
    ordered = select(latency).where(fixes).order_by(latency).limit(1)

    def rank(p: int) -> int:
        return session.scalar(ordered.offset(math.ceil(p * n / 100) - 1)) or 0

    return Latency(p50=rank(50), p95=rank(95))


# -- money ---------------------------------------------------------------------------------


def _ledger_by_day(session: Session, period: Period) -> dict[tuple[date, str], tuple[int, int]]:
    """(amount, count) per day and kind: payment, payment_failed, refund (negative)."""
    day = day_of(session, ledger.c.occurred_at)
    rows = session.execute(
        select(day, ledger.c.kind, func.sum(ledger.c.amount_cents), func.count())
        .where(ledger.c.occurred_at >= period.since, ledger.c.occurred_at < period.before)
        .group_by(day, ledger.c.kind)
    )
    return {(_as_date(d), kind): (int(total or 0), n) for d, kind, total, n in rows}


def _subscription_changes(session: Session, period: Period) -> tuple[dict[date, int], int]:
    day = day_of(session, subs.c.created_at)
    new = session.execute(
        select(day, func.count())
        .where(subs.c.created_at >= period.since, subs.c.created_at < period.before)
        .group_by(day)
    )
    churned = session.scalar(
        select(func.count()).where(
            subs.c.status == "canceled",
            subs.c.ended_at >= period.since,
            subs.c.ended_at < period.before,
        )
    )
    return {_as_date(d): n for d, n in new}, churned or 0


def _recurring_revenue(
    session: Session, plans: tuple[Plan, ...]
) -> tuple[Fraction, dict[str, int], int]:
    """MRR now (each live subscription's price as a monthly amount), counts by plan,
    and how many accounts pay. Prices come from Stripe's price on the subscription, or
    the plan catalog for rows stored before prices were kept."""
    catalog = {plan.code: plan for plan in plans}
    active = {plan.code: 0 for plan in plans}
    mrr = Fraction(0)
    live = subs.c.status.in_(LIVE_STATUSES)
    prices = (subs.c.plan_code, subs.c.amount_cents, subs.c.interval, subs.c.interval_count)
    for code, amount, interval, count, n in session.execute(
        select(*prices, func.count()).where(live).group_by(*prices)
    ):
        plan = catalog.get(code)
        if amount is None and plan is not None:
            amount, interval, count = plan.amount_cents, plan.interval, plan.interval_count
        active[code] = active.get(code, 0) + n
        if amount is not None and interval in MONTHS_PER:
            mrr += n * Fraction(amount) / (MONTHS_PER[interval] * (count or 1))
    accounts = session.scalar(select(func.count(distinct(subs.c.user_id))).where(live))
    return mrr, active, accounts or 0
