"""Bar charts of the daily series as server-side SVG, readable on a desktop and a phone.

Bars are placed in percentages of the drawing (no viewBox), so the chart stretches to
any width while its text, drawn in HTML beside it at the page's own size, never shrinks.
The page's CSP forbids inline styles; geometry is in SVG attributes, colours in CSS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from bugfixer.admin.format import short_date

Number = int | float


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    label: str  # the bar's tooltip: "Dec 1: $12.00"


@dataclass(frozen=True)
class Chart:
    """Everything the template draws: bars, axis labels, and the table beneath."""

    id: str
    title: str
    total: str
    summary: str  # what a screen reader hears for the picture
    bars: list[Bar]
    y_labels: list[str]  # top, middle, bottom
    x_labels: list[str]
    rows: list[tuple[str, str]]  # the table: (date, value)
    column: str


def nice_ceiling(value: float, *, whole: bool = False) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above ``value``, for clean gridlines;
    with ``whole``, one whose half is a whole number too (2, 4, 10, 20, 40, ...)."""
    if value <= 0:
        return 2 if whole else 1
    power = 10 ** math.floor(math.log10(value))
    steps = (1, 2, 2.5, 5, 10)
    if whole:
        steps = (1, 2, 4, 10) if power < 10 else (1, 2, 4, 5, 10)
    for step in steps:
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def x_labels(days: Sequence[date], most: int = 5) -> list[str]:
    if len(days) <= most:
        return [short_date(d) for d in days]
    picks = [round(i * (len(days) - 1) / (most - 1)) for i in range(most)]
    return [short_date(days[i]) for i in picks]


def bar_chart(
    *,
    id: str,
    title: str,
    column: str,
    days: Sequence[date],
    values: Sequence[Number],
    fmt: Callable[[Number], str],
    axis_unit: float = 1,
    whole: bool = False,
) -> Chart:
    """One bar per day. ``axis_unit`` is the smallest top of scale (a cent for money);
    ``whole`` keeps the gridlines on whole numbers (for counts)."""
    top = max(nice_ceiling(max(values, default=0), whole=whole), axis_unit)
    slot = 100 / max(len(days), 1)
    gap = slot * 0.18 if len(days) > 1 else slot * 0.3
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = 100 * value / top if value > 0 else 0
        bars.append(
            Bar(
                x=f"{i * slot + gap / 2:.3f}%",
                y=f"{100 - height:.3f}%",
                width=f"{slot - gap:.3f}%",
                height=f"{height:.3f}%",
                label=f"{short_date(day)}: {fmt(value)}",
            )
        )
    total = sum(values)
    peak = max(range(len(values)), key=lambda i: values[i]) if values else None
    summary = f"{title} per day from {short_date(days[0])} to {short_date(days[-1])}: total "
    summary += fmt(total)
    if peak is not None and values[peak] > 0:
        summary += f", highest {fmt(values[peak])} on {short_date(days[peak])}"
    return Chart(
        id=id,
        title=title,
        total=fmt(total),
        summary=summary + ". The table below lists every day.",
        bars=bars,
        y_labels=[fmt(top), fmt(top / 2), fmt(0)],
        x_labels=x_labels(days),
        rows=[(day.isoformat(), fmt(v)) for day, v in zip(days, values, strict=True)],
        column=column,
    )
