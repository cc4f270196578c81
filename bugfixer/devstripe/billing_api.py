"""REST endpoints for subscriptions, invoices, payments, refunds and events."""

from __future__ import annotations

from typing import Any

from . import billing
from .objects import get, list_object
from .params import as_list, no_such
from .routing import created_matches, paginate, route, virtual
from .store import Tx


def _matching(params: dict[str, Any], *fields: str) -> Any:
    """A filter for list endpoints: equality on the given fields, plus ``created``."""

    def wanted(obj: dict[str, Any]) -> bool:
        return all(params.get(f) in (None, obj.get(f)) for f in fields) and created_matches(
            params, obj["created"]
        )

    return wanted


# Subscriptions.


@route("GET", "/v1/subscriptions/{id}")
def retrieve_subscription(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "subscription", id)


@route("POST", "/v1/subscriptions/{id}")
def update_subscription(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return billing.update_subscription(tx, id, params)


@route("DELETE", "/v1/subscriptions/{id}")
def cancel_subscription(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return billing.cancel_now(tx, id)


@route("GET", "/v1/subscriptions")
def list_subscriptions(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    status = params.get("status")
    price = params.get("price")
    base = _matching(params, "customer")

    def wanted(sub: dict[str, Any]) -> bool:
        if status in (None, "") and sub["status"] == "canceled":
            return False
        if status not in (None, "", "all") and sub["status"] != status:
            return False
        if price and all(item["price"]["id"] != price for item in sub["items"]["data"]):
            return False
        return base(sub)

    return paginate(params, "/v1/subscriptions", tx.find("subscription", where=wanted))


# Invoices and how they were paid.


@route("GET", "/v1/invoices/{id}")
def retrieve_invoice(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "invoice", id)


@route("GET", "/v1/invoices")
def list_invoices(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    invoices = tx.find("invoice", where=_matching(params, "customer", "subscription", "status"))
    return paginate(params, "/v1/invoices", invoices)


@route("GET", "/v1/invoices/{id}/lines")
def list_invoice_lines(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    invoice = get(tx, "invoice", id)
    return paginate(params, f"/v1/invoices/{id}/lines", invoice["lines"]["data"])


def _payments_of(tx: Tx, invoice_id: str) -> list[dict[str, Any]]:
    return tx.find("invoice_payment", invoice=invoice_id)


@virtual("invoice", "payments")
def invoice_payments(tx: Tx, invoice: dict[str, Any]) -> dict[str, Any]:
    return list_object(
        f"/v1/invoice_payments?invoice={invoice['id']}", _payments_of(tx, invoice["id"])
    )


@route("GET", "/v1/invoice_payments")
def list_invoice_payments(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    payment = params.get("payment") if isinstance(params.get("payment"), dict) else {}
    intent = payment.get("payment_intent")
    records = tx.find(
        "invoice_payment",
        where=lambda r: (
            params.get("invoice") in (None, r["invoice"])
            and intent in (None, r["payment"].get("payment_intent"))
        ),
    )
    return paginate(params, "/v1/invoice_payments", records)


@route("GET", "/v1/invoice_payments/{id}")
def retrieve_invoice_payment(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "invoice_payment", id)


@route("GET", "/v1/payment_intents/{id}")
def retrieve_payment_intent(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "payment_intent", id)


@route("GET", "/v1/charges/{id}")
def retrieve_charge(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "charge", id)


@route("GET", "/v1/charges")
def list_charges(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    charges = tx.find("charge", where=_matching(params, "customer", "payment_intent"))
    return paginate(params, "/v1/charges", charges)


# Refunds.


@route("POST", "/v1/refunds")
def create_refund(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    return billing.refund(tx, params)


@route("GET", "/v1/refunds/{id}")
def retrieve_refund(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "refund", id)


@route("GET", "/v1/refunds")
def list_refunds(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    refunds = tx.find("refund", where=_matching(params, "charge", "payment_intent"))
    return paginate(params, "/v1/refunds", refunds)


# Events.


@route("GET", "/v1/events/{id}")
def retrieve_event(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    event = tx.event(id)
    if event is None:
        raise no_such("event", id)
    return event


@route("GET", "/v1/events")
def list_events(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    types = [str(t) for t in as_list(params, "types")]
    if params.get("type"):
        types.append(str(params["type"]))

    def type_matches(type_: str) -> bool:
        return not types or any(
            type_ == t or (t.endswith("*") and type_.startswith(t[:-1])) for t in types
        )

    events = [
        event
        for event in tx.events()
        if type_matches(event["type"]) and created_matches(params, event["created"])
    ]
    return paginate(params, "/v1/events", events)
