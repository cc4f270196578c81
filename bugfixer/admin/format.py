"""How the dashboard writes money, rates and dates: $9.17, 33.3%, Dec 1."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from bugfixer.billing.plans import format_money


def money(cents: float, currency: str = "usd") -> str:
    """Whole cents, always two decimals: $9.17, -$12.00; a non-zero sliver is <$0.01."""
    if 0 < abs(cents) < 0.5:
        return "<" + format_money(1, currency).replace("-", "")
    rounded = int(Decimal(str(cents)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return format_money(rounded, currency)


def usd(dollars: float) -> str:
    return money(dollars * 100)


def percent(part: float, whole: float) -> str:
    if not whole:
        return "n/a"
    return f"{100 * part / whole:.1f}%"


def short_date(day: date) -> str:
    return f"{day:%b} {day.day}"
