"""The webhook pipeline: store each event once, run its handler in the same transaction.

Handlers register by event type (``@handles("invoice.paid")``). A duplicate delivery is a
no-op; a failing handler leaves the event recorded as failed with its error, answers 500
so Stripe retries, and ``bugfixer stripe replay EVENT_ID`` can run it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bugfixer.billing import service
from bugfixer.billing.gateway import StripeGateway
from bugfixer.billing.models import CheckoutSession, StripeEvent, Transaction
from bugfixer.billing.plans import Plan
from bugfixer.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandlerContext:
    session: Session
    gateway: StripeGateway
    plans: tuple[Plan, ...]


Handler = Callable[[HandlerContext, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for event_type in event_types:
            if event_type in HANDLERS:
                raise ValueError(f"two handlers for {event_type}")
            HANDLERS[event_type] = fn
        return fn

    return register


class WebhookFailed(Exception):
    """The handler raised; the event is stored as failed and Stripe should retry."""


def process(
    *,
    session_factory: sessionmaker[Session],
    gateway: StripeGateway,
    plans: tuple[Plan, ...],
    event: dict[str, Any],
    replay: bool = False,
) -> str:
    """Apply one event exactly once. Returns processed, duplicate or ignored."""
    event_id = event["id"]
    try:
        with session_factory.begin() as session:
            stored = session.get(StripeEvent, event_id, with_for_update=True)
            if stored is not None and stored.status in ("processed", "ignored") and not replay:
                return "duplicate"
            if stored is None:
                stored = StripeEvent(
                    id=event_id,
                    type=event["type"],
                    created=int(event.get("created") or 0),
                    payload=event,
                    status="received",
                    attempts=0,
                )
                session.add(stored)
            stored.attempts += 1
            handler = HANDLERS.get(event["type"])
            if handler is not None:
                obj = event["data"]["object"]
                handler(HandlerContext(session=session, gateway=gateway, plans=plans), obj)
            stored.status = "processed" if handler else "ignored"
            stored.error = None
            stored.processed_at = utcnow()
            return stored.status
    except Exception as exc:
        log.exception("webhook %s (%s) failed", event_id, event.get("type"))
        _record_failure(session_factory, event, exc)
        raise WebhookFailed(str(exc)) from exc


def _record_failure(
    session_factory: sessionmaker[Session], event: dict[str, Any], exc: Exception
) -> None:
    with session_factory.begin() as session:
        stored = session.get(StripeEvent, event["id"])
        if stored is None:
            stored = StripeEvent(
                id=event["id"],
                type=event["type"],
                created=int(event.get("created") or 0),
                payload=event,
                attempts=0,
            )
            session.add(stored)
        stored.attempts = (stored.attempts or 0) + 1
        stored.status = "failed"
        stored.error = f"{type(exc).__name__}: {exc}"[:2000]


def stored_event(*, session: Session, event_id: str) -> dict[str, Any] | None:
    found = session.scalar(select(StripeEvent.payload).where(StripeEvent.id == event_id))
    return found


# -- handlers -----------------------------------------------------------------------------


@handles("checkout.session.completed")
def _checkout_completed(ctx: HandlerContext, obj: dict[str, Any]) -> None:
    checkout = ctx.session.get(CheckoutSession, obj["id"])
    if checkout is not None and checkout.completed_at is None:
        checkout.completed_at = utcnow()
    subscription_id = service._id(obj.get("subscription"))
    if subscription_id:
        service.sync_subscription(
            session=ctx.session,
            gateway=ctx.gateway,
            subscription_id=subscription_id,
            plans=ctx.plans,
        )


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
def _subscription_changed(ctx: HandlerContext, obj: dict[str, Any]) -> None:
    # The event may be older than what Stripe knows now: always store Stripe's current view.
    service.sync_subscription(
        session=ctx.session, gateway=ctx.gateway, subscription_id=obj["id"], plans=ctx.plans
    )


def _invoice_row(ctx: HandlerContext, invoice: dict[str, Any], kind: str, amount: int) -> None:
    subscription_id = service.invoice_subscription_id(invoice)
    sub = None
    if subscription_id:
        sub = service.sync_subscription(
            session=ctx.session,
            gateway=ctx.gateway,
            subscription_id=subscription_id,
            plans=ctx.plans,
        )
    user_id = (
        sub.user_id
        if sub
        else service.user_for_stripe(
            session=ctx.session, customer_id=service._id(invoice.get("customer")), metadata=None
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
        stripe_charge_id=service._id(invoice.get("charge")),
        stripe_subscription_id=subscription_id,
        occurred_at=service.ts(paid_at or invoice.get("created")) or utcnow(),
    )


@handles("invoice.paid")
def _invoice_paid(ctx: HandlerContext, invoice: dict[str, Any]) -> None:
    _invoice_row(ctx, invoice, "payment", int(invoice.get("amount_paid") or 0))


@handles("invoice.payment_failed")
def _invoice_failed(ctx: HandlerContext, invoice: dict[str, Any]) -> None:
    _invoice_row(ctx, invoice, "payment_failed", int(invoice.get("amount_due") or 0))


@handles("charge.refunded")
def _charge_refunded(ctx: HandlerContext, charge: dict[str, Any]) -> None:
    user_id = service.user_for_stripe(
        session=ctx.session,
        customer_id=service._id(charge.get("customer")),
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
