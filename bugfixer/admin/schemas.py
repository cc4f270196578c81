"""The metrics API's answer: exactly these fields, for the page, the CSV and scripts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeriodOut(_Strict):
    start: date
    end: date


class Funnel(_Strict):
    """Distinct browsers/accounts that reached each step and every step before it."""

    visitors: int
    tried_free_fix: int
    hit_paywall: int
    started_checkout: int
    paid: int


class Fixes(_Strict):
    total: int
    fixed: int
    no_fix: int
    free: int
    paid: int


class Latency(_Strict):
    p50: int | None
    p95: int | None


class Llm(_Strict):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cost_per_fix_usd: float


class Day(_Strict):
    date: date
    visitors: int
    fixes: int
    paywalls: int
    checkouts: int
    new_subscriptions: int
    revenue_cents: int
    llm_cost_usd: float


class AdminMetrics(_Strict):
    period: PeriodOut
    mrr_cents: float
    arr_cents: float
    active_subscriptions: dict[str, int]
    new_subscriptions: int
    churned_subscriptions: int
    revenue_cents: int
    refunds_cents: int
    failed_payments: int
    arpu_cents: float
    funnel: Funnel
    fixes: Fixes
    latency_ms: Latency
    llm: Llm
    gross_margin_cents: float
    daily: list[Day]
