"""Event kinds and ``record_event``, called inside the unit of work of the action itself.

A visit also adds its person and day to ``visitor_days`` (once: INSERT … ON CONFLICT DO
NOTHING), and a sign-up or sign-in its browser's account to ``visitor_links`` (the lowest
wins), in the same transaction as the event, so the roll-ups hold exactly what the
committed events say.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bugfixer.analytics.models import ProductEvent, VisitorDay, VisitorLink
from bugfixer.db import utcnow

PAGE_VIEW = "page_view"  # the fix page (first view per browser per day)
PRICING_VIEWED = "pricing_viewed"
PAYWALL_SHOWN = "paywall_shown"  # a 402, or the pricing page opened because of one
FIX_COMPLETED = "fix_completed"  # a verified fix delivered
FIX_NO_FIX = "fix_no_fix"  # the provider answered without a fix that passed the checks
SIGNED_UP = "signed_up"
SIGNED_IN = "signed_in"
CHECKOUT_STARTED = "checkout_started"
CHECKOUT_COMPLETED = "checkout_completed"
SUBSCRIPTION_CANCELED = "subscription_canceled"
PAYMENT_FAILED = "payment_failed"
REFUND = "refund"

KINDS = frozenset(
    {
        PAGE_VIEW,
        PRICING_VIEWED,
        PAYWALL_SHOWN,
        FIX_COMPLETED,
        FIX_NO_FIX,
        SIGNED_UP,
        SIGNED_IN,
        CHECKOUT_STARTED,
        CHECKOUT_COMPLETED,
        SUBSCRIPTION_CANCELED,
        PAYMENT_FAILED,
        REFUND,
    }
)
FIX_KINDS = (FIX_COMPLETED, FIX_NO_FIX)
# What Stripe's webhooks record happens without anyone visiting; every other kind is a
# visit (a short list to exclude is cheaper to test on every row than a long one).
NOT_VISITS = (CHECKOUT_COMPLETED, SUBSCRIPTION_CANCELED, PAYMENT_FAILED, REFUND)
VISIT_KINDS = tuple(sorted(KINDS.difference(NOT_VISITS)))
CHECKOUT_KINDS = (CHECKOUT_STARTED, CHECKOUT_COMPLETED)
# Sign-ups and sign-ins tie a browser's earlier events to its account.
LINK_KINDS = (SIGNED_UP, SIGNED_IN)

# Properties are small facts. Whatever could identify a person or carry their code
# has no place in them.
FORBIDDEN_PROPERTIES = frozenset({"ip", "address", "client_address", "code", "error", "email"})
MAX_PROPERTY_CHARS = 200

_INSERT = insert(ProductEvent.__table__)
_INSERT_VISIT = {
    "postgresql": postgresql.insert(VisitorDay.__table__).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(VisitorDay.__table__).on_conflict_do_nothing(),
}


def _upsert_link(dialect: Any) -> Any:
    links = VisitorLink.__table__
    stmt = dialect.insert(links)
    return stmt.on_conflict_do_update(
        index_elements=[links.c.visitor_key],
        set_={"user_id": stmt.excluded.user_id},
        where=stmt.excluded.user_id < links.c.user_id,
    )


_UPSERT_LINK = {"postgresql": _upsert_link(postgresql), "sqlite": _upsert_link(sqlite)}


def visitor_key(visitor_id: str | None) -> int | None:
    """A browser as a negative integer (accounts are positive ids), for fast counting.

    64 bits of BLAKE2b: two browsers share a key with odds of about n²/2⁶⁴, one in a
    billion at a million browsers.
    """
    if not visitor_id:
        return None
    digest = hashlib.blake2b(visitor_id.encode(), digest_size=8).digest()
    return -1 - (int.from_bytes(digest, "big") >> 1)


def event_row(
    *,
    kind: str,
    visitor_id: str | None = None,
    user_id: int | None = None,
    properties: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """A checked row for the events table (raises ValueError for a programming error)."""
    if kind not in KINDS:
        raise ValueError(f"unknown product event kind {kind!r}")
    properties = properties or {}
    for key, value in properties.items():
        if key in FORBIDDEN_PROPERTIES:
            raise ValueError(f"product events never store {key!r}")
        if isinstance(value, str) and len(value) > MAX_PROPERTY_CHARS:
            raise ValueError(f"product event property {key!r} is too long")
        if not isinstance(value, str | int | float | bool | None):
            raise ValueError(f"product event property {key!r} must be a plain value")
    return {
        "occurred_at": occurred_at or utcnow(),
        "kind": kind,
        "visitor_id": visitor_id,
        "visitor_key": visitor_key(visitor_id),
        "user_id": user_id,
        "properties": properties,
    }


def visit_of(row: dict[str, Any]) -> tuple[date, int] | None:
    """The ``visitor_days`` key of an event row (``event_row``): its UTC day and its
    account, else its browser; None for what is not a visit or has no one behind it."""
    if row["kind"] in NOT_VISITS:
        return None
    who = row["user_id"] if row["user_id"] is not None else row["visitor_key"]
    if who is None:
        return None
    return row["occurred_at"].astimezone(UTC).date(), who


def link_of(row: dict[str, Any]) -> tuple[int, int] | None:
    """The ``visitor_links`` entry of an event row: (browser key, account), or None."""
    if row["kind"] in LINK_KINDS and None not in (row["visitor_key"], row["user_id"]):
        return row["visitor_key"], row["user_id"]
    return None


def _record_roll_ups(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    # Sorted, so two batches that share visitors take their row locks in the same order.
    visits = sorted({v for v in map(visit_of, rows) if v is not None})
    if visits:
        session.execute(
            _INSERT_VISIT[dialect], [{"day": day, "visitor_key": who} for day, who in visits]
        )
    links: dict[int, int] = {}
    for browser, user in filter(None, map(link_of, rows)):
        links[browser] = min(user, links.get(browser, user))
    if links:
        session.execute(
            _UPSERT_LINK[dialect],
            [{"visitor_key": k, "user_id": u} for k, u in sorted(links.items())],
        )


def record_event(
    *,
    session: Session,
    kind: str,
    visitor_id: str | None = None,
    user_id: int | None = None,
    properties: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction: it commits or rolls back with it."""
    row = event_row(kind=kind, visitor_id=visitor_id, user_id=user_id, properties=properties)
    session.execute(_INSERT, row)
    _record_roll_ups(session, [row])


def record_events(*, session: Session, rows: list[dict[str, Any]]) -> int:
    """Append checked rows (``event_row``) in one multi-row INSERT."""
    if rows:
        session.execute(_INSERT, rows)
        _record_roll_ups(session, rows)
    return len(rows)
