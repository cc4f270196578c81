"""Stripe webhook events as the operator sees them: what arrived, what failed and why."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bugfixer.billing.models import StripeEvent
from bugfixer.errors import InvalidInput

STATUSES = ("received", "processed", "failed", "ignored")
PAGE_SIZE = 50


@dataclass(frozen=True)
class EventRow:
    id: str
    type: str
    status: str
    error: str | None
    attempts: int
    received_at: str
    processed_at: str


@dataclass(frozen=True)
class EventsPage:
    rows: list[EventRow]
    status: str
    counts: dict[str, int]
    page: int
    more: bool


def events_page(*, session: Session, status: str, page: int) -> EventsPage:
    """Newest first, optionally only one status (failed ones are what need a look)."""
    if status and status not in STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(STATUSES)}.")
    if page < 1:
        raise InvalidInput("page must be 1 or more.")
    query = select(StripeEvent).order_by(StripeEvent.received_at.desc(), StripeEvent.id)
    if status:
        query = query.where(StripeEvent.status == status)
    found = list(session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    counts = dict(
        session.execute(select(StripeEvent.status, func.count()).group_by(StripeEvent.status)).all()
    )
    rows = [
        EventRow(
            id=e.id,
            type=e.type,
            status=e.status,
            error=e.error,
            attempts=e.attempts,
            received_at=f"{e.received_at:%Y-%m-%d %H:%M:%S}",
            processed_at=f"{e.processed_at:%Y-%m-%d %H:%M:%S}" if e.processed_at else "",
        )
        for e in found[:PAGE_SIZE]
    ]
    return EventsPage(
        rows=rows, status=status, counts=counts, page=page, more=len(found) > PAGE_SIZE
    )
