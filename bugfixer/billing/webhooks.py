"""The webhook pipeline: store each event once, run its handler in the same transaction.

Handlers register by event type (``@handles("invoice.paid")``). A duplicate delivery is a
no-op; a failing handler leaves the event recorded as failed with its error, answers 500
so Stripe retries, and ``bugfixer stripe replay EVENT_ID`` can run it again.

What a handler needs from Stripe (the subscription as Stripe sees it now) is fetched
before the transaction opens: no database write lock is ever held across a network call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bugfixer.billing import service
from bugfixer.billing.gateway import StripeGateway
from bugfixer.billing.models import StripeEvent, Transaction
from bugfixer.billing.plans import Plan
from bugfixer.db import Database, utcnow
from bugfixer.observability import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandlerContext:
    session: Session
    plans: tuple[Plan, ...]
    # Stripe's current view of the subscription the event is about, if it names one.
    subscription: dict[str, Any] | None = None


Handler = Callable[[HandlerContext, dict[str, Any]], None]
SubscriptionOf = Callable[[dict[str, Any]], str | None]
HANDLERS: dict[str, Handler] = {}
SUBSCRIPTION_OF: dict[str, SubscriptionOf] = {}


def handles(
    *event_types: str, subscription: SubscriptionOf | None = None
) -> Callable[[Handler], Handler]:
    """Register a handler; ``subscription`` names the subscription to fetch for it."""

    def register(fn: Handler) -> Handler:
        for event_type in event_types:
            if event_type in HANDLERS:
                raise ValueError(f"two handlers for {event_type}")
            HANDLERS[event_type] = fn
            if subscription is not None:
                SUBSCRIPTION_OF[event_type] = subscription
        return fn

    return register


class WebhookFailed(Exception):
    """The handler raised; the event is stored as failed and Stripe should retry."""


DONE = ("processed", "ignored")
# A unit of work that lost a race on a unique row (two events creating one subscription)
# is simply run again: the second run sees the row the first one made.
CONFLICT_RETRIES = 3


def process(
    *,
    db: Database,
    gateway: StripeGateway,
    plans: tuple[Plan, ...],
    event: dict[str, Any],
    replay: bool = False,
) -> str:
    """Apply one event exactly once. Returns processed, ignored or duplicate.

    The event row is inserted first (``ON CONFLICT DO NOTHING``), so concurrent deliveries
    of one event meet on an existing row: its lock lets one apply the event while the
    others wait and then find it done. Blocking (Stripe and database calls): run it in a
    worker thread.
    """
    event_id = event["id"]
    if db.write_now(store_event, event=event) in DONE and not replay:
        return "duplicate"
    try:
        fetched = None
        subscription_of = SUBSCRIPTION_OF.get(event["type"])
        subscription_id = subscription_of(event["data"]["object"]) if subscription_of else None
        if subscription_id:
            fetched = gateway.retrieve_subscription(subscription_id)
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return db.write_now(
                    apply_event, event=event, plans=plans, fetched=fetched, replay=replay
                )
            except IntegrityError:
                if attempt == CONFLICT_RETRIES:
                    raise
                log.info("webhook %s met a concurrent change; applying it again", event_id)
        raise AssertionError("unreachable")
    except Exception as exc:
        log.exception("webhook %s (%s) failed", event_id, event.get("type"))
        db.write_now(record_failure, event_id=event_id, error=f"{type(exc).__name__}: {exc}")
        raise WebhookFailed(str(exc)) from exc


def store_event(*, session: Session, event: dict[str, Any]) -> str:
    """Insert the event once (a no-op for a duplicate) and return its current status."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(StripeEvent.__table__)
        .values(
            id=event["id"],
            type=str(event.get("type") or "")[:100],
            created=int(event.get("created") or 0),
            payload=event,
            status="received",
            attempts=0,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return session.scalar(select(StripeEvent.status).where(StripeEvent.id == event["id"])) or ""


def apply_event(
    *,
    session: Session,
    event: dict[str, Any],
    plans: tuple[Plan, ...],
    fetched: dict[str, Any] | None,
    replay: bool,
) -> str:
    """Run the event's handler and mark it done, in one transaction, unless already done."""
    stored = session.get(StripeEvent, event["id"], with_for_update=True)
    if stored is None:  # removed in between: store it again
        store_event(session=session, event=event)
        stored = session.get(StripeEvent, event["id"], with_for_update=True)
        assert stored is not None
    if stored.status in DONE and not replay:
        return "duplicate"
    stored.attempts += 1
    handler = HANDLERS.get(event["type"])
    if handler is not None:
        handler(
            HandlerContext(session=session, plans=plans, subscription=fetched),
            event["data"]["object"],
        )
    stored.status = "processed" if handler else "ignored"
    stored.error = None
    stored.processed_at = utcnow()
    return stored.status


def record_failure(*, session: Session, event_id: str, error: str) -> None:
    """Note a failed attempt; an event some other delivery completed stays done."""
    session.execute(
        update(StripeEvent)
        .where(StripeEvent.id == event_id, StripeEvent.status.not_in(DONE))
        .values(status="failed", error=error[:2000], attempts=StripeEvent.attempts + 1)
    )


def stored_event(*, session: Session, event_id: str) -> dict[str, Any] | None:
    found = session.scalar(select(StripeEvent.payload).where(StripeEvent.id == event_id))
    return found


# -- handlers -----------------------------------------------------------------------------


def _apply(ctx: HandlerContext):  # type: ignore[no-untyped-def]
    if ctx.subscription is None:
        return None
    return service.apply_subscription(session=ctx.session, data=ctx.subscription, plans=ctx.plans)


@handles(
    "checkout.session.completed",
    subscription=lambda obj: service.object_id(obj.get("subscription")),
)
def _checkout_completed(ctx: HandlerContext, obj: dict[str, Any]) -> None:
    plan = service.complete_checkout(session=ctx.session, checkout_id=obj["id"])
    if plan is not None:
        metrics.record_checkout(plan, "completed")
    _apply(ctx)


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    subscription=lambda obj: obj["id"],
)
def _subscription_changed(ctx: HandlerContext, obj: dict[str, Any]) -> None:
    # The event may be older than what Stripe knows now: store Stripe's current view.
    _apply(ctx)


def _invoice_row(ctx: HandlerContext, invoice: dict[str, Any], kind: str, amount: int) -> None:
    sub = _apply(ctx)
    user_id = (
        sub.user_id
        if sub
        else service.user_for_stripe(
            session=ctx.session,
            customer_id=service.object_id(invoice.get("customer")),
            metadata=None,
        )
    )
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    service.record_transaction(
        session=ctx.session,
        user_id=user_id,
        kind=kind,
        amount_cents=amount,
        currency=invoice.get("currency") or "usd",
        plan_code=sub.plan_code if sub else None,
        stripe_object_id=invoice["id"],
        stripe_invoice_id=invoice["id"],
        stripe_charge_id=service.object_id(invoice.get("charge")),
        stripe_subscription_id=service.invoice_subscription_id(invoice),
        occurred_at=service.ts(paid_at or invoice.get("created")) or utcnow(),
    )


@handles("invoice.paid", subscription=service.invoice_subscription_id)
def _invoice_paid(ctx: HandlerContext, invoice: dict[str, Any]) -> None:
    _invoice_row(ctx, invoice, "payment", int(invoice.get("amount_paid") or 0))


@handles("invoice.payment_failed", subscription=service.invoice_subscription_id)
def _invoice_failed(ctx: HandlerContext, invoice: dict[str, Any]) -> None:
    _invoice_row(ctx, invoice, "payment_failed", int(invoice.get("amount_due") or 0))


@handles("charge.refunded")
def _charge_refunded(ctx: HandlerContext, charge: dict[str, Any]) -> None:
    user_id = service.user_for_stripe(
        session=ctx.session,
        customer_id=service.object_id(charge.get("customer")),
        metadata=charge.get("metadata"),
    )
    refunds = (charge.get("refunds") or {}).get("data") or []
    rows = [(r["id"], int(r.get("amount") or 0), r.get("created")) for r in refunds]
    if not rows:
        # No refund list in the payload: one row per refunded total seen.
        rows = [
            (
                f"{charge['id']}:{charge.get('amount_refunded')}",
                int(charge.get("amount_refunded") or 0),
                None,
            )
        ]
    # The payment it refunds: by charge, else the account's latest payment.
    same_charge = Transaction.stripe_charge_id == charge["id"]
    paid = ctx.session.scalar(
        select(Transaction)
        .where(Transaction.kind == "payment", same_charge | (Transaction.user_id == user_id))
        .order_by(same_charge.desc(), Transaction.occurred_at.desc())
        .limit(1)
    )
    for refund_id, amount, created in rows:
        service.record_transaction(
            session=ctx.session,
            user_id=user_id,
            kind="refund",
            amount_cents=-amount,
            currency=charge.get("currency") or "usd",
            plan_code=paid.plan_code if paid else None,
            stripe_object_id=refund_id,
            stripe_invoice_id=paid.stripe_invoice_id if paid else None,
            stripe_charge_id=charge["id"],
            stripe_subscription_id=paid.stripe_subscription_id if paid else None,
            occurred_at=service.ts(created) or utcnow(),
        )
