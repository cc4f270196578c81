"""Subscriptions, entitlements and the ledger, kept from Stripe's own account of things."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bugfixer.accounts.models import User
from bugfixer.analytics import events
from bugfixer.analytics.events import record_event
from bugfixer.billing.gateway import StripeGateway, price_matches
from bugfixer.billing.models import (
    BillingCustomer,
    CheckoutSession,
    ComplimentaryGrant,
    Subscription,
    Transaction,
)
from bugfixer.billing.plans import Plan
from bugfixer.db import Database, utcnow

log = logging.getLogger(__name__)

ENTITLING = ("active", "trialing")
COMPLIMENTARY = "complimentary"


def ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


@dataclass(frozen=True)
class Entitlement:
    plan_code: str
    status: str
    until: datetime


def entitlement(
    *, session: Session, user_id: int, grace: timedelta, now: datetime | None = None
) -> Entitlement | None:
    """The subscription that gives this account unlimited fixes right now, if any."""
    now = now or utcnow()
    subs = session.scalars(
        select(Subscription).where(
            Subscription.user_id == user_id,
            Subscription.status.in_((*ENTITLING, "past_due")),
        )
    )
    best: Entitlement | None = None
    for sub in subs:
        if sub.current_period_end is None:
            continue
        until = sub.current_period_end
        if sub.cancel_at is not None:
            until = min(until, sub.cancel_at)
        if sub.status == "past_due":
            until = min(until, (sub.past_due_since or now) + grace)
        if until > now and (best is None or until > best.until):
            best = Entitlement(plan_code=sub.plan_code, status=sub.status, until=until)
    if best is None:
        # Complimentary access counts only when no subscription pays for the fixes.
        comp_until = complimentary_until(session=session, user_id=user_id, now=now)
        if comp_until is not None:
            best = Entitlement(plan_code=COMPLIMENTARY, status=COMPLIMENTARY, until=comp_until)
    return best


# -- complimentary access ------------------------------------------------------------------


def _running_grants(user_id: int, now: datetime):  # type: ignore[no-untyped-def]
    return (
        ComplimentaryGrant.user_id == user_id,
        ComplimentaryGrant.revoked_at.is_(None),
        ComplimentaryGrant.until > now,
    )


def complimentary_until(
    *, session: Session, user_id: int, now: datetime | None = None
) -> datetime | None:
    """Until when an administrator has given this account unlimited fixes, if at all."""
    return session.scalar(
        select(func.max(ComplimentaryGrant.until)).where(*_running_grants(user_id, now or utcnow()))
    )


def grant_complimentary(
    *, session: Session, user_id: int, until: datetime, granted_by: int | None
) -> ComplimentaryGrant:
    """Unlimited fixes until ``until``; a grant still running is replaced by this one."""
    now = utcnow()
    session.execute(
        update(ComplimentaryGrant)
        .where(*_running_grants(user_id, now))
        .values(revoked_at=now, revoked_by=granted_by)
    )
    grant = ComplimentaryGrant(user_id=user_id, until=until, granted_by=granted_by, created_at=now)
    session.add(grant)
    session.flush()
    return grant


def revoke_complimentary(*, session: Session, user_id: int, revoked_by: int | None) -> int:
    """End every running grant of the account now; returns how many there were."""
    now = utcnow()
    result = session.execute(
        update(ComplimentaryGrant)
        .where(*_running_grants(user_id, now))
        .values(revoked_at=now, revoked_by=revoked_by)
    )
    return result.rowcount


def current_subscription(*, session: Session, user_id: int) -> Subscription | None:
    """The account's most relevant subscription, for the account page."""
    return session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.current_period_end.desc().nulls_last())
        .limit(1)
    )


def ledger(*, session: Session, user_id: int, limit: int = 50) -> list[Transaction]:
    return list(
        session.scalars(
            select(Transaction)
            .where(Transaction.user_id == user_id)
            .order_by(Transaction.occurred_at.desc(), Transaction.id.desc())
            .limit(limit)
        )
    )


# -- customers and checkout -------------------------------------------------------------


def customer_for(*, db: Database, gateway: StripeGateway, user_id: int, email: str) -> str:
    """The account's Stripe Customer, created once and reused.

    Stripe is called outside any transaction; if two checkouts race, the first stored
    customer wins and the other (empty) customer is simply never used. Blocking: call
    it from a worker thread.
    """
    found = db.read_now(stripe_customer_of, user_id=user_id)
    if found is not None:
        return found
    customer_id = gateway.create_customer(email=email, user_id=user_id)
    return db.write_now(store_customer, user_id=user_id, customer_id=customer_id)


def stripe_customer_of(*, session: Session, user_id: int) -> str | None:
    found = session.get(BillingCustomer, user_id)
    return found.stripe_customer_id if found else None


def store_customer(*, session: Session, user_id: int, customer_id: str) -> str:
    """Keep the first customer stored for the account, and return it."""
    found = session.get(BillingCustomer, user_id)
    if found is not None:
        return found.stripe_customer_id
    session.add(BillingCustomer(user_id=user_id, stripe_customer_id=customer_id))
    return customer_id


def record_checkout(
    *,
    session: Session,
    checkout_id: str,
    user_id: int,
    plan: Plan,
    visitor_id: str | None = None,
) -> None:
    session.add(CheckoutSession(id=checkout_id, user_id=user_id, plan_code=plan.code))
    record_event(
        session=session,
        kind=events.CHECKOUT_STARTED,
        visitor_id=visitor_id,
        user_id=user_id,
        properties={"plan": plan.code},
    )


def complete_checkout(*, session: Session, checkout_id: str) -> str | None:
    """Mark a checkout we started as paid, once: its plan, or None when unknown or done."""
    checkout = session.get(CheckoutSession, checkout_id)
    if checkout is None or checkout.completed_at is not None:
        return None
    checkout.completed_at = utcnow()
    record_event(
        session=session,
        kind=events.CHECKOUT_COMPLETED,
        user_id=checkout.user_id,
        properties={"plan": checkout.plan_code},
    )
    return checkout.plan_code


# -- mirroring subscriptions --------------------------------------------------------------


def user_for_stripe(
    *, session: Session, customer_id: str | None, metadata: dict[str, Any] | None
) -> int | None:
    if customer_id:
        found = session.scalar(
            select(BillingCustomer.user_id).where(BillingCustomer.stripe_customer_id == customer_id)
        )
        if found is not None:
            return found
    raw = (metadata or {}).get("user_id")
    if raw and str(raw).isdigit() and session.get(User, int(raw)) is not None:
        return int(raw)
    return None


def apply_subscription(
    *, session: Session, data: dict[str, Any], plans: tuple[Plan, ...]
) -> Subscription | None:
    """Store Stripe's current view of a subscription (fetched by the caller beforehand).

    Always the whole current state, never an event's snapshot: deliveries can then come
    twice or out of order without an older one undoing a newer one.
    """
    customer_id = object_id(data.get("customer"))
    user_id = user_for_stripe(
        session=session, customer_id=customer_id, metadata=data.get("metadata")
    )
    if user_id is None:
        return None
    items = (data.get("items") or {}).get("data") or [{}]
    item = items[0]
    price = item.get("price") or {}
    sub = session.get(Subscription, data["id"])
    plan = catalog_plan(price, data.get("metadata"), plans)
    if plan is not None:
        plan_code = plan.code
    elif sub is not None and sub.price_id and sub.price_id == price.get("id"):
        plan_code = sub.plan_code  # accepted before; the catalog's amount moved on since
    else:
        log.warning(
            "subscription %s is on price %s, which matches no plan's amount and interval; "
            "not applied",
            data.get("id"),
            price.get("id"),
        )
        return None
    if sub is None:
        sub = Subscription(id=data["id"], user_id=user_id)
        session.add(sub)
    was_past_due = sub.status == "past_due"
    was_canceled = sub.status == "canceled"
    recurring = price.get("recurring") or {}
    sub.user_id = user_id
    sub.stripe_customer_id = customer_id or ""
    sub.plan_code = plan_code
    sub.price_id = price.get("id") or ""
    sub.amount_cents = price.get("unit_amount")
    sub.currency = price.get("currency")
    sub.interval = recurring.get("interval")
    sub.interval_count = recurring.get("interval_count")
    sub.status = data["status"]
    if sub.status == "canceled" and not was_canceled:
        record_event(
            session=session,
            kind=events.SUBSCRIPTION_CANCELED,
            user_id=user_id,
            properties={"plan": plan_code},
        )
    sub.current_period_start = ts(
        item.get("current_period_start") or data.get("current_period_start")
    )
    sub.current_period_end = ts(item.get("current_period_end") or data.get("current_period_end"))
    sub.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    sub.cancel_at = ts(data.get("cancel_at"))
    sub.canceled_at = ts(data.get("canceled_at"))
    sub.ended_at = ts(data.get("ended_at"))
    if sub.status == "past_due" and not was_past_due:
        sub.past_due_since = utcnow()
    elif sub.status != "past_due":
        sub.past_due_since = None
    if customer_id and session.get(BillingCustomer, user_id) is None:
        session.add(BillingCustomer(user_id=user_id, stripe_customer_id=customer_id))
    session.flush()
    return sub


def store_subscription(*, db: Database, data: dict[str, Any], plans: tuple[Plan, ...]) -> None:
    """Apply a subscription fetched from Stripe; a unit of work that lost a race (a webhook
    storing the same new subscription at the same moment) is run again."""
    for attempt in range(3):
        try:
            db.write_now(apply_subscription, data=data, plans=plans)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def catalog_plan(
    price: dict[str, Any], metadata: dict[str, Any] | None, plans: tuple[Plan, ...]
) -> Plan | None:
    """The plan this Price is, if it charges what the catalog says (amount, currency, period).

    Found by lookup key, else by the ``plan_code`` in the metadata; a Price for less
    than its plan (made by hand in the dashboard, or sent by anything but Stripe) gives
    no plan, so no unlimited fixes.
    """
    key = price.get("lookup_key")
    plan = next((p for p in plans if key and key == p.lookup_key), None)
    if plan is None:
        for source in (price.get("metadata"), metadata):
            code = (source or {}).get("plan_code")
            plan = next((p for p in plans if p.code == code), None) if code else None
            if plan is not None:
                break
    if plan is None or not price_matches(price, plan):
        return None
    return plan


def object_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value


# -- the ledger -------------------------------------------------------------------------------


def record_transaction(*, session: Session, **fields: Any) -> bool:
    """Add a ledger row once per (kind, Stripe object); False when it was already there."""
    exists = session.scalar(
        select(Transaction.id).where(
            Transaction.kind == fields["kind"],
            Transaction.stripe_object_id == fields["stripe_object_id"],
        )
    )
    if exists is not None:
        return False
    session.add(Transaction(**fields))
    session.flush()
    kind = _TRANSACTION_EVENTS.get(fields["kind"])
    if kind is not None:
        record_event(
            session=session,
            kind=kind,
            user_id=fields.get("user_id"),
            properties={"plan": fields.get("plan_code"), "amount_cents": fields["amount_cents"]},
        )
    return True


_TRANSACTION_EVENTS = {"payment_failed": events.PAYMENT_FAILED, "refund": events.REFUND}


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return object_id(details.get("subscription")) or object_id(invoice.get("subscription"))
