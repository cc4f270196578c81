"""Builders for Stripe objects, starting from the fixture-shaped blanks."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from .params import no_such
from .shapes_billing import BILLING_TEMPLATES
from .shapes_catalog import ADDRESS, CATALOG_TEMPLATES
from .store import Tx, new_id

_TEMPLATES = {**CATALOG_TEMPLATES, **BILLING_TEMPLATES}


def blank(type_: str, tx: Tx | None = None, prefix: str | None = None) -> dict[str, Any]:
    obj = copy.deepcopy(_TEMPLATES[type_])
    if prefix:
        obj["id"] = new_id(prefix)
    if tx is not None and "created" in obj:
        obj["created"] = tx.now
    return obj


def get(tx: Tx, kind: str, object_id: str, *, param: str | None = None) -> dict[str, Any]:
    """The stored object, or Stripe's "No such ..." error (404 by path, 400 by param)."""
    obj = tx.get(object_id) if isinstance(object_id, str) else None
    if obj is None or obj["object"] != kind:
        raise no_such(kind.replace("_", " "), str(object_id), param=param)
    return obj


def list_object(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``previous_attributes`` for an ``.updated`` event: old values of changed keys."""
    return {key: before.get(key) for key in after if before.get(key) != after[key]}


def plan_from_price(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price, as subscription items carry it."""
    plan = blank("plan")
    recurring = price["recurring"] or {}
    plan.update(
        id=price["id"],
        created=price["created"],
        active=price["active"],
        amount=price["unit_amount"],
        amount_decimal=price["unit_amount_decimal"],
        currency=price["currency"],
        interval=recurring.get("interval"),
        interval_count=recurring.get("interval_count"),
        metadata=price["metadata"],
        nickname=price["nickname"],
        product=price["product"],
    )
    return plan


# Cards: what the hosted page collected, as charges and payment methods report it.

_BRANDS = (("4", "visa"), ("5", "mastercard"), ("2", "mastercard"), ("34", "amex"), ("37", "amex"))


def card_details(number: str, exp_month: int, exp_year: int) -> dict[str, Any]:
    brand = next((name for prefix, name in _BRANDS if number.startswith(prefix)), "unknown")
    return {
        "brand": brand,
        "last4": number[-4:],
        "exp_month": exp_month,
        "exp_year": exp_year,
        "country": "US",
        "funding": "credit",
        "fingerprint": secrets.token_hex(8),
    }


def _payment_method_details(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "card": {
            **card,
            "amount_authorized": None,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "network": card["brand"],
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def payment(
    tx: Tx,
    *,
    customer: dict[str, Any],
    amount: int,
    currency: str,
    description: str,
    card: dict[str, Any],
    payment_method: str,
    decline: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A PaymentIntent and its Charge, succeeded unless ``decline`` is a message."""
    intent = blank("payment_intent", tx, "pi_")
    charge = blank("charge", tx, "ch_")
    ok = decline is None
    intent.update(
        amount=amount,
        amount_received=amount if ok else 0,
        client_secret=f"{intent['id']}_secret_{secrets.token_urlsafe(18)}",
        currency=currency,
        customer=customer["id"],
        description=description,
        latest_charge=charge["id"],
        payment_method=payment_method if ok else None,
        status="succeeded" if ok else "requires_payment_method",
    )
    if not ok:
        intent["last_payment_error"] = {
            "charge": charge["id"],
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": decline,
            "type": "card_error",
        }
    charge.update(
        amount=amount,
        amount_captured=amount if ok else 0,
        balance_transaction=new_id("txn_") if ok else None,
        billing_details={
            "address": dict(ADDRESS),
            "email": customer.get("email"),
            "name": customer.get("name"),
            "phone": None,
            "tax_id": None,
        },
        captured=ok,
        currency=currency,
        customer=customer["id"],
        description=description,
        failure_code=None if ok else "card_declined",
        failure_message=decline,
        outcome={
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if ok else "declined_by_network",
            "reason": None if ok else "generic_decline",
            "risk_level": "normal",
            "seller_message": "Payment complete."
            if ok
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if ok else "issuer_declined",
        },
        paid=ok,
        payment_intent=intent["id"],
        payment_method=payment_method,
        payment_method_details=_payment_method_details(card),
        receipt_email=customer.get("email"),
        refunds=list_object(f"/v1/charges/{charge['id']}/refunds", []),
        status="succeeded" if ok else "failed",
    )
    tx.put(intent)
    tx.put(charge)
    return intent, charge


def invoice_line(
    tx: Tx, invoice: dict[str, Any], item: dict[str, Any], product: dict[str, Any]
) -> dict[str, Any]:
    price = item["price"]
    amount = price["unit_amount"] * item["quantity"]
    line = blank("line_item", tx, "il_")
    line.update(
        amount=amount,
        currency=price["currency"],
        description=f"{item['quantity']} \u00d7 {product['name']}",
        invoice=invoice["id"],
        parent={
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": item["subscription"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        period={"start": item["current_period_start"], "end": item["current_period_end"]},
        pricing={
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        },
        quantity=item["quantity"],
        quantity_decimal=str(item["quantity"]),
        subscription=item["subscription"],
        subtotal=amount,
    )
    return line


def invoice_payment(tx: Tx, invoice: dict[str, Any], intent: dict[str, Any]) -> dict[str, Any]:
    paid = intent["status"] == "succeeded"
    record = blank("invoice_payment", tx, "inpay_")
    record.update(
        amount_paid=intent["amount"] if paid else None,
        amount_requested=intent["amount"],
        currency=intent["currency"],
        invoice=invoice["id"],
        payment={"payment_intent": intent["id"], "type": "payment_intent"},
        status="paid" if paid else "open",
        status_transitions={"canceled_at": None, "paid_at": tx.now if paid else None},
    )
    return tx.put(record)
