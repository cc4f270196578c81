"""CSV exports of the chosen period: the ledger, the subscriptions, the daily series."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bugfixer.accounts.models import User
from bugfixer.admin.metrics import MONTHS_PER
from bugfixer.admin.period import Period
from bugfixer.admin.schemas import AdminMetrics
from bugfixer.billing.models import Subscription, Transaction

LEDGER_COLUMNS = (
    "date",
    "kind",
    "email",
    "plan",
    "amount",
    "currency",
    "stripe_object_id",
    "stripe_invoice_id",
    "stripe_charge_id",
    "stripe_subscription_id",
)
SUBSCRIPTION_COLUMNS = (
    "subscription_id",
    "email",
    "plan",
    "status",
    "amount",
    "currency",
    "interval",
    "interval_count",
    "monthly_value",
    "started",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
    "stripe_customer_id",
)
DAILY_COLUMNS = (
    "date",
    "visitors",
    "fixes",
    "paywalls",
    "checkouts",
    "new_subscriptions",
    "revenue",
    "llm_cost_usd",
)


def decimal_amount(cents: int | Fraction | None) -> str:
    """12.00 and -12.00: what a spreadsheet reads as money (the currency is its own column)."""
    if cents is None:
        return ""
    value = (
        Decimal(cents.numerator) / Decimal(cents.denominator)
        if isinstance(cents, Fraction)
        else Decimal(cents)
    )
    return str((value / 100).quantize(Decimal("0.01")))


def _text(value: str | None) -> str:
    """Text as data: a cell that starts like a formula is prefixed so no spreadsheet runs it."""
    value = value or ""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _when(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def ledger_rows(*, session: Session, period: Period) -> list[list[str]]:
    rows = session.execute(
        select(Transaction, User.email)
        .outerjoin(User, User.id == Transaction.user_id)
        .where(Transaction.occurred_at >= period.since, Transaction.occurred_at < period.before)
        .order_by(Transaction.occurred_at, Transaction.id)
    )
    return [
        [
            _when(t.occurred_at),
            t.kind,
            _text(email),
            _text(t.plan_code),
            decimal_amount(t.amount_cents),
            t.currency,
            _text(t.stripe_object_id),
            _text(t.stripe_invoice_id),
            _text(t.stripe_charge_id),
            _text(t.stripe_subscription_id),
        ]
        for t, email in rows
    ]


def subscription_rows(*, session: Session, period: Period) -> list[list[str]]:
    """Every subscription that existed at some time in the period."""
    rows = session.execute(
        select(Subscription, User.email)
        .outerjoin(User, User.id == Subscription.user_id)
        .where(
            Subscription.created_at < period.before,
            or_(Subscription.ended_at.is_(None), Subscription.ended_at >= period.since),
        )
        .order_by(Subscription.created_at, Subscription.id)
    )
    out = []
    for sub, email in rows:
        monthly = None
        if sub.amount_cents is not None and sub.interval in MONTHS_PER:
            monthly = Fraction(sub.amount_cents) / (
                MONTHS_PER[sub.interval] * (sub.interval_count or 1)
            )
        out.append(
            [
                _text(sub.id),
                _text(email),
                _text(sub.plan_code),
                sub.status,
                decimal_amount(sub.amount_cents),
                sub.currency or "",
                sub.interval or "",
                str(sub.interval_count or ""),
                decimal_amount(monthly),
                _when(sub.created_at),
                _when(sub.current_period_end),
                "true" if sub.cancel_at_period_end else "false",
                _when(sub.canceled_at),
                _when(sub.ended_at),
                _text(sub.stripe_customer_id),
            ]
        )
    return out


def daily_rows(metrics: AdminMetrics) -> list[list[str]]:
    return [
        [
            d.date.isoformat(),
            str(d.visitors),
            str(d.fixes),
            str(d.paywalls),
            str(d.checkouts),
            str(d.new_subscriptions),
            decimal_amount(d.revenue_cents),
            f"{d.llm_cost_usd:.6f}",
        ]
        for d in metrics.daily
    ]


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
