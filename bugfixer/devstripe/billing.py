"""Subscriptions and their money: invoices, payments, renewals, cancellations, refunds.

These functions are shared by the REST API, the hosted pages and the test controls,
so a cancel from the portal page and one from the API emit the same events.
"""

from __future__ import annotations

import copy
from typing import Any

from .clock import add_interval
from .objects import (
    blank,
    diff,
    get,
    invoice_line,
    invoice_payment,
    list_object,
    payment,
    plan_from_price,
)
from .params import StripeError, as_bool, as_int, as_str, invalid, merge_metadata
from .store import Tx

DECLINED = "Your card was declined."
_LIVE_STATUSES = ("active", "trialing", "past_due")
MAX_DUE_STEPS = 5000

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def period_end(sub: dict[str, Any]) -> int:
    return sub["items"]["data"][0]["current_period_end"]


def create_subscription(
    tx: Tx,
    *,
    customer: dict[str, Any],
    lines: list[tuple[dict[str, Any], int]],
    metadata: dict[str, str],
) -> dict[str, Any]:
    """A paid subscription for ``lines`` of (price, quantity), with its first invoice.

    Emits ``customer.subscription.created`` then the invoice's events.
    """
    sub = blank("subscription", tx, "sub_")
    start = tx.now
    recurring = lines[0][0]["recurring"]
    end = add_interval(start, recurring["interval"], recurring["interval_count"])
    items = []
    for price, quantity in lines:
        item = blank("subscription_item", tx, "si_")
        item.update(
            current_period_start=start,
            current_period_end=end,
            plan=plan_from_price(price),
            price=price,
            quantity=quantity,
            subscription=sub["id"],
        )
        items.append(item)
    customer_internal = tx.internal(customer["id"])
    sub.update(
        billing_cycle_anchor=start,
        currency=lines[0][0]["currency"],
        customer=customer["id"],
        default_payment_method=customer_internal.get("payment_method"),
        items=list_object(f"/v1/subscription_items?subscription={sub['id']}", items),
        metadata=metadata,
        start_date=start,
    )
    invoice = draft_invoice(tx, sub, customer, reason="subscription_create")
    sub["latest_invoice"] = invoice["id"]
    tx.put(sub, {"period_index": 0, "fail_next_renewal": False})
    tx.emit("customer.subscription.created", sub)
    collect(tx, invoice, customer)
    return sub


def draft_invoice(
    tx: Tx,
    sub: dict[str, Any],
    customer: dict[str, Any],
    *,
    reason: str,
    period: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A draft invoice for the subscription's current items; ``period`` is the one billed."""
    invoice = blank("invoice", tx, "in_")
    lines = []
    for item in sub["items"]["data"]:
        product = tx.get(item["price"]["product"]) or {"name": item["price"]["product"]}
        lines.append(invoice_line(tx, invoice, item, product))
    total = sum(line["amount"] for line in lines)
    sequence = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = sequence + 1
    tx.put(customer)
    period_start, period_end_ = period or (tx.now, tx.now)
    invoice.update(
        amount_due=total,
        amount_remaining=total,
        billing_reason=reason,
        currency=sub["currency"],
        customer=customer["id"],
        customer_email=customer["email"],
        customer_name=customer["name"],
        customer_phone=customer["phone"],
        lines=list_object(f"/v1/invoices/{invoice['id']}/lines", lines),
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        parent={
            "quote_details": None,
            "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
            "type": "subscription_details",
        },
        period_end=period_end_,
        period_start=period_start,
        subscription=sub["id"],
        subtotal=total,
        subtotal_excluding_tax=total,
        total=total,
        total_excluding_tax=total,
    )
    return tx.put(invoice)


def collect(
    tx: Tx, invoice: dict[str, Any], customer: dict[str, Any], *, decline: str | None = None
) -> dict[str, Any]:
    """Finalise and charge the invoice with the customer's saved card."""
    tx.emit("invoice.created", invoice)
    internal = tx.internal(customer["id"])
    first_time = invoice["billing_reason"] == "subscription_create"
    intent, _charge = payment(
        tx,
        customer=customer,
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        description="Subscription creation" if first_time else "Subscription update",
        card=internal.get("card") or {},
        payment_method=internal.get("payment_method") or "",
        decline=decline,
    )
    invoice_payment(tx, invoice, intent)
    transitions = invoice["status_transitions"]
    transitions["finalized_at"] = tx.now
    invoice.update(
        attempt_count=1, attempted=True, effective_at=tx.now, webhooks_delivered_at=tx.now
    )
    if decline is None:
        transitions["paid_at"] = tx.now
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
        tx.put(invoice)
        tx.emit("invoice.paid", invoice)
        tx.emit("invoice.payment_succeeded", invoice)
    else:
        invoice.update(status="open", auto_advance=True)
        tx.put(invoice)
        tx.emit("invoice.payment_failed", invoice)
    return invoice


def renew(tx: Tx, sub: dict[str, Any]) -> None:
    """Start the next period and bill it (a failed payment leaves it ``past_due``)."""
    internal = tx.internal(sub["id"])
    before = copy.deepcopy(sub)
    index = internal.get("period_index", 0) + 1
    previous = (sub["items"]["data"][0]["current_period_start"], period_end(sub))
    for item in sub["items"]["data"]:
        recurring = item["price"]["recurring"]
        step = recurring["interval_count"]
        item["current_period_start"] = item["current_period_end"]
        item["current_period_end"] = add_interval(
            sub["billing_cycle_anchor"], recurring["interval"], step * (index + 1)
        )
    customer = get(tx, "customer", sub["customer"])
    invoice = draft_invoice(tx, sub, customer, reason="subscription_cycle", period=previous)
    fail = bool(internal.get("fail_next_renewal"))
    collect(tx, invoice, customer, decline=DECLINED if fail else None)
    sub.update(latest_invoice=invoice["id"], status="past_due" if fail else "active")
    internal.update(period_index=index, fail_next_renewal=False)
    tx.put(sub, internal)
    tx.emit("customer.subscription.updated", sub, diff(before, sub))


def end(tx: Tx, sub: dict[str, Any]) -> None:
    sub.update(status="canceled", ended_at=tx.now, canceled_at=sub["canceled_at"] or tx.now)
    tx.put(sub)
    tx.emit("customer.subscription.deleted", sub)


def update_subscription(tx: Tx, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    sub = get(tx, "subscription", sub_id)
    before = copy.deepcopy(sub)
    if "items" in params or "price" in params:
        raise StripeError(
            400, "devstripe does not support changing subscription items.", param="items"
        )
    changes = set(params) - {"expand", "metadata", "cancellation_details"}
    if sub["status"] == "canceled" and changes:
        raise StripeError(
            400, "A canceled subscription can only update its cancellation_details and metadata."
        )
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params["metadata"])
    details = params.get("cancellation_details")
    if isinstance(details, dict):
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = as_str(details[key], key)
    if "description" in params:
        sub["description"] = as_str(params["description"], "description")
    if "cancel_at_period_end" in params:
        if as_bool(params["cancel_at_period_end"], "cancel_at_period_end"):
            schedule_cancel(tx, sub, period_end(sub), at_period_end=True)
        else:
            schedule_cancel(tx, sub, None)
    if "cancel_at" in params:
        raw = params["cancel_at"]
        if raw in ("", None):
            schedule_cancel(tx, sub, None)
        elif raw in ("min_period_end", "max_period_end"):
            schedule_cancel(tx, sub, period_end(sub))
        else:
            schedule_cancel(tx, sub, as_int(raw, "cancel_at", minimum=tx.now))
    return save_update(tx, sub, before)


def schedule_cancel(
    tx: Tx, sub: dict[str, Any], cancel_at: int | None, *, at_period_end: bool = False
) -> None:
    details = sub["cancellation_details"]
    if cancel_at is None:
        sub.update(cancel_at=None, cancel_at_period_end=False, canceled_at=None)
        details["reason"] = None
    else:
        sub.update(
            cancel_at=cancel_at,
            cancel_at_period_end=at_period_end or cancel_at == period_end(sub),
            canceled_at=sub["canceled_at"] or tx.now,
        )
        details["reason"] = "cancellation_requested"


def save_update(tx: Tx, sub: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    previous = diff(before, sub)
    tx.put(sub)
    if previous:
        tx.emit("customer.subscription.updated", sub, previous)
    return sub


def cancel_now(tx: Tx, sub_id: str) -> dict[str, Any]:
    sub = get(tx, "subscription", sub_id)
    if sub["status"] == "canceled":
        raise StripeError(400, f"The subscription {sub_id} has already been canceled.")
    sub["cancellation_details"]["reason"] = "cancellation_requested"
    end(tx, sub)
    return sub


def refund(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("charge"):
        charge = get(tx, "charge", params["charge"], param="charge")
    elif params.get("payment_intent"):
        intent = get(tx, "payment_intent", params["payment_intent"], param="payment_intent")
        charge = tx.get(intent["latest_charge"] or "")
        if charge is None:
            raise StripeError(400, "This PaymentIntent does not have a successful charge.")
    else:
        raise StripeError(
            400,
            "One of the following params should be provided: charge, payment_intent.",
            code="parameter_missing",
        )
    reason = as_str(params.get("reason"), "reason")
    if reason not in (None, *REFUND_REASONS):
        raise invalid(
            "reason",
            "Invalid reason: must be one of "
            + ", ".join(REFUND_REASONS[:-1])
            + f", or {REFUND_REASONS[-1]}",
        )
    if charge["status"] != "succeeded":
        raise StripeError(400, f"Charge {charge['id']} has not succeeded.")
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = as_int(params["amount"], "amount", minimum=1) if params.get("amount") else remaining
    if amount > remaining:
        raise StripeError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            code="amount_too_large",
            param="amount",
        )
    created = blank("refund", tx, "re_")
    created.update(
        amount=amount,
        balance_transaction=f"txn_{created['id'][3:]}",
        charge=charge["id"],
        currency=charge["currency"],
        customer=charge["customer"],
        metadata=merge_metadata({}, params.get("metadata", {})),
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        reason=reason,
    )
    tx.put(created)
    before = copy.deepcopy(charge)
    refunds = charge["refunds"]
    refunds["data"].insert(0, created)
    charge.update(amount_refunded=charge["amount_refunded"] + amount)
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    tx.put(charge)
    tx.emit("charge.refunded", charge, diff(before, charge))
    tx.emit("refund.created", created)
    return created


def process_due(tx: Tx, until: int) -> None:
    """Renew, end or expire whatever falls due before ``until``, oldest first."""
    for _ in range(MAX_DUE_STEPS):
        due = _next_due(tx)
        if due is None or due[0] > until:
            return
        at, kind, obj = due
        tx.now = max(tx.now, at)
        if kind == "session":
            obj.update(status="expired", url=None)
            tx.put(obj)
            tx.emit("checkout.session.expired", obj)
        elif obj["cancel_at"] is not None and obj["cancel_at"] <= at:
            end(tx, obj)
        else:
            renew(tx, obj)
    raise StripeError(400, "Advancing that far would process too many renewals; advance in steps.")


def _next_due(tx: Tx) -> tuple[int, str, dict[str, Any]] | None:
    candidates: list[tuple[int, str, dict[str, Any]]] = []
    for sub in tx.find("subscription", where=lambda s: s["status"] in _LIVE_STATUSES):
        at = period_end(sub)
        if sub["cancel_at"] is not None:
            at = min(at, sub["cancel_at"])
        candidates.append((at, "subscription", sub))
    for session in tx.find("checkout.session", status="open"):
        candidates.append((session["expires_at"], "session", session))
    return min(candidates, key=lambda due: due[0]) if candidates else None
