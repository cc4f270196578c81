"""The plan catalog. Amounts are integer cents; the browser never sends one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    description: str
    amount_cents: int
    currency: str
    interval: str
    interval_count: int

    @property
    def price_label(self) -> str:
        dollars, cents = divmod(self.amount_cents, 100)
        return f"${dollars}" if cents == 0 else f"${dollars}.{cents:02d}"

    @property
    def period_label(self) -> str:
        if self.interval_count == 1:
            return f"per {self.interval}"
        return f"every {self.interval_count} {self.interval}s"


DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan("monthly", "Monthly", "Unlimited fixes, billed every month.", 500, "usd", "month", 1),
    Plan(
        "quarterly", "Quarterly", "Unlimited fixes, billed every 3 months.", 1200, "usd", "month", 3
    ),
    Plan("annual", "Annual", "Unlimited fixes, billed once a year.", 5000, "usd", "year", 1),
)
