"""What the dashboard page shows, built from one metrics report: tiles, funnel, charts."""

from __future__ import annotations

from dataclasses import dataclass

from bugfixer.admin.charts import Chart, bar_chart
from bugfixer.admin.format import money, percent, usd
from bugfixer.admin.metrics import ModelUsage, Report
from bugfixer.admin.period import PRESETS, Period
from bugfixer.billing.plans import Plan


@dataclass(frozen=True)
class Tile:
    id: str
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Step:
    label: str
    count: int
    rate: str  # of the step before
    share: float  # of visitors, 0..100, the bar's length


@dataclass(frozen=True)
class DashboardPage:
    period: Period
    preset: int | None  # 7, 30 or 90 when the period is "the last N days"
    presets: tuple[int, ...]
    query: str  # selects this period again, for the export links
    tiles: list[Tile]
    funnel: list[Step]
    charts: list[Chart]
    by_model: list[ModelUsage]
    latency: str


def count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def dashboard_page(
    report: Report, period: Period, *, preset: int | None, plans: tuple[Plan, ...]
) -> DashboardPage:
    m = report.metrics
    names = {plan.code: plan.name for plan in plans}
    by_plan = " · ".join(
        f"{n} {names.get(code, code).lower()}" for code, n in m.active_subscriptions.items() if n
    )
    tiles = [
        Tile("mrr", "MRR", money(m.mrr_cents), "monthly recurring revenue now"),
        Tile("arr", "ARR", money(m.arr_cents), "MRR x 12"),
        Tile(
            "subscribers",
            "Active subscriptions",
            count(sum(m.active_subscriptions.values())),
            by_plan or "none yet",
        ),
        Tile("revenue", "Revenue", money(m.revenue_cents), "collected in the period"),
        Tile("refunds", "Refunds", money(m.refunds_cents), "given back in the period"),
        Tile(
            "failed",
            "Failed payments",
            count(m.failed_payments),
            "renewals Stripe could not charge",
        ),
        Tile("margin", "Gross margin", money(m.gross_margin_cents), "revenue - refunds - LLM cost"),
        Tile(
            "conversion",
            "Free → paid",
            percent(m.funnel.paid, m.funnel.tried_free_fix),
            f"{m.funnel.paid} of {m.funnel.tried_free_fix} who tried a free fix",
        ),
        Tile(
            "subscriptions",
            "New / churned",
            f"{m.new_subscriptions} / {m.churned_subscriptions}",
            "subscriptions in the period",
        ),
        Tile("arpu", "ARPU", money(m.arpu_cents), "MRR per paying account"),
        Tile(
            "fixes",
            "Fixes",
            count(m.fixes.total),
            f"{m.fixes.fixed} fixed · {m.fixes.no_fix} no fix · {m.fixes.paid} by subscribers",
        ),
        Tile(
            "llm",
            "LLM cost",
            usd(m.llm.cost_usd),
            f"{usd(m.llm.cost_per_fix_usd)} per delivered fix",
        ),
    ]
    f = m.funnel
    counts = [f.visitors, f.tried_free_fix, f.hit_paywall, f.started_checkout, f.paid]
    labels = ["Visitors", "Tried a free fix", "Hit the paywall", "Started checkout", "Paid"]
    funnel = [
        Step(
            label=label,
            count=n,
            rate="" if i == 0 else percent(n, counts[i - 1]),
            share=100 * n / f.visitors if f.visitors else 0.0,
        )
        for i, (label, n) in enumerate(zip(labels, counts, strict=True))
    ]
    days = [d.date for d in m.daily]
    charts = [
        bar_chart(
            id="fixes",
            title="Fixes",
            column="Fixes",
            days=days,
            values=[d.fixes for d in m.daily],
            fmt=count,
            axis_unit=2,
            whole=True,
        ),
        bar_chart(
            id="revenue",
            title="Revenue",
            column="Revenue",
            days=days,
            values=[d.revenue_cents for d in m.daily],
            fmt=money,
            axis_unit=100,
        ),
        bar_chart(
            id="subscriptions",
            title="New subscriptions",
            column="New subscriptions",
            days=days,
            values=[d.new_subscriptions for d in m.daily],
            fmt=count,
            axis_unit=2,
            whole=True,
        ),
        bar_chart(
            id="llm-cost",
            title="LLM cost",
            column="LLM cost",
            days=days,
            values=[d.llm_cost_usd * 100 for d in m.daily],
            fmt=money,
            axis_unit=1,
        ),
    ]
    p = m.latency_ms
    latency = "no fixes" if p.p50 is None else f"p50 {p.p50:,} ms · p95 {p.p95:,} ms"
    return DashboardPage(
        period=period,
        preset=preset,
        presets=PRESETS,
        query=period.query(),
        tiles=tiles,
        funnel=funnel,
        charts=charts,
        by_model=report.by_model,
        latency=latency,
    )
