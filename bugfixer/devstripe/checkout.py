"""Checkout Sessions and Billing Portal sessions: the API half of the hosted pages."""

from __future__ import annotations

import copy
from typing import Any

from . import billing
from .catalog import create_customer
from .objects import blank, get, list_object
from .params import StripeError, as_int, as_list, as_str, invalid, merge_metadata, require
from .routing import created_matches, paginate, route, virtual
from .shapes_catalog import ADDRESS
from .store import Tx, new_id

SESSION_LIFETIME = 24 * 3600
PORTAL_CONFIGURATION_KEY = "portal_configuration"


@route("POST", "/v1/checkout/sessions")
def create_session(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    mode = require(params, "mode")
    if mode != "subscription":
        raise invalid("mode", f"devstripe only supports mode=subscription, not {mode!r}.")
    success_url = as_str(require(params, "success_url"), "success_url")
    raw_items = as_list(params, "line_items")
    if not raw_items:
        raise StripeError(
            400,
            "`line_items` is required in `subscription` mode.",
            code="parameter_missing",
            param="line_items",
        )
    session = blank("checkout.session", tx, "cs_test_")
    session["id"] = new_id("cs_test_", 58)
    items = [_line_item(tx, raw, f"line_items[{n}]") for n, raw in enumerate(raw_items)]
    intervals = {
        (i["price"]["recurring"]["interval"], i["price"]["recurring"]["interval_count"])
        for i in items
    }
    if len(intervals) > 1 or len({i["currency"] for i in items}) > 1:
        raise invalid("line_items", "All prices must share one currency and billing interval.")
    if params.get("customer"):
        if params.get("customer_email"):
            raise invalid("customer_email", "You may only specify one of customer, customer_email.")
        session["customer"] = get(tx, "customer", params["customer"], param="customer")["id"]
    total = sum(item["amount_total"] for item in items)
    subscription_data = params.get("subscription_data") or {}
    session.update(
        amount_subtotal=total,
        amount_total=total,
        cancel_url=as_str(params.get("cancel_url"), "cancel_url"),
        client_reference_id=as_str(params.get("client_reference_id"), "client_reference_id"),
        currency=items[0]["currency"],
        customer_email=as_str(params.get("customer_email"), "customer_email"),
        expires_at=_expires_at(tx, params),
        locale=as_str(params.get("locale"), "locale"),
        metadata=merge_metadata({}, params.get("metadata", {})),
        success_url=success_url,
        url=f"{tx.base_url}/checkout/{session['id']}",
    )
    internal = {
        "line_items": items,
        "subscription_metadata": merge_metadata({}, subscription_data.get("metadata", {})),
    }
    tx.put(session, internal)
    return session


def _line_item(tx: Tx, raw: Any, param: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw.get("price"):
        raise StripeError(
            400,
            f"Missing required param: {param}[price].",
            code="parameter_missing",
            param=f"{param}[price]",
        )
    price = get(tx, "price", raw["price"], param=f"{param}[price]")
    if price["type"] != "recurring":
        raise invalid(f"{param}[price]", "`subscription` mode requires recurring prices.")
    if not price["active"]:
        raise invalid(f"{param}[price]", f"The price {price['id']} is not active.")
    quantity = as_int(raw.get("quantity", 1), f"{param}[quantity]", minimum=1)
    product = get(tx, "product", price["product"])
    item = blank("item", tx, "li_")
    amount = price["unit_amount"] * quantity
    item.update(
        amount_subtotal=amount,
        amount_total=amount,
        currency=price["currency"],
        description=product["name"],
        price=price,
        quantity=quantity,
    )
    return item


def _expires_at(tx: Tx, params: dict[str, Any]) -> int:
    if not params.get("expires_at"):
        return tx.now + SESSION_LIFETIME
    expires_at = as_int(params["expires_at"], "expires_at")
    if not tx.now + 1800 <= expires_at <= tx.now + SESSION_LIFETIME:
        raise invalid("expires_at", "expires_at must be between 30 minutes and 24 hours away.")
    return expires_at


@route("GET", "/v1/checkout/sessions/{id}")
def retrieve_session(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "checkout.session", id)


@route("POST", "/v1/checkout/sessions/{id}")
def update_session(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    session = get(tx, "checkout.session", id)
    if "metadata" in params:
        session["metadata"] = merge_metadata(session["metadata"], params["metadata"])
    return tx.put(session)


@route("GET", "/v1/checkout/sessions")
def list_sessions(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    fields = ("customer", "subscription", "status", "payment_intent", "client_reference_id")
    sessions = tx.find(
        "checkout.session",
        where=lambda s: (
            all(params.get(f) in (None, s[f]) for f in fields)
            and created_matches(params, s["created"])
        ),
    )
    return paginate(params, "/v1/checkout/sessions", sessions)


@route("POST", "/v1/checkout/sessions/{id}/expire")
def expire_session(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    session = get(tx, "checkout.session", id)
    if session["status"] != "open":
        raise StripeError(
            400,
            f"Only Checkout Sessions with a status of `open` can be expired. "
            f"This session has a status of `{session['status']}`.",
        )
    session.update(status="expired", url=None)
    tx.put(session)
    tx.emit("checkout.session.expired", session)
    return session


@virtual("checkout.session", "line_items")
def session_line_items(tx: Tx, session: dict[str, Any]) -> dict[str, Any]:
    items = tx.internal(session["id"]).get("line_items", [])
    return list_object(f"/v1/checkout/sessions/{session['id']}/line_items", items)


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def list_session_line_items(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    session = get(tx, "checkout.session", id)
    items = tx.internal(session["id"]).get("line_items", [])
    return paginate(params, f"/v1/checkout/sessions/{id}/line_items", items)


def complete_session(
    tx: Tx, session: dict[str, Any], *, email: str, card: dict[str, Any]
) -> dict[str, Any]:
    """What a successful hosted-page payment does; the caller has checked the card."""
    internal = tx.internal(session["id"])
    payment_method = new_id("pm_")
    if session["customer"]:
        customer = get(tx, "customer", session["customer"])
        if not customer["email"]:
            before = copy.deepcopy(customer)
            customer["email"] = email
            tx.put(customer)
            tx.emit("customer.updated", customer, {"email": before["email"]})
    else:
        customer = create_customer(tx, {"email": email})
    tx.put(
        customer, {**tx.internal(customer["id"]), "card": card, "payment_method": payment_method}
    )
    lines = [(item["price"], item["quantity"]) for item in internal["line_items"]]
    subscription = billing.create_subscription(
        tx, customer=customer, lines=lines, metadata=internal["subscription_metadata"]
    )
    session.update(
        customer=customer["id"],
        customer_details={
            "address": dict(ADDRESS),
            "business_name": None,
            "email": email,
            "individual_name": None,
            "name": customer["name"],
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        invoice=subscription["latest_invoice"],
        payment_status="paid",
        status="complete",
        subscription=subscription["id"],
        url=None,
    )
    tx.put(session)
    tx.emit("checkout.session.completed", session)
    return session


# Billing portal.


@route("POST", "/v1/billing_portal/sessions")
def create_portal_session(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    customer = get(tx, "customer", require(params, "customer"), param="customer")
    configuration = tx.setting(PORTAL_CONFIGURATION_KEY)
    if configuration is None:
        configuration = new_id("bpc_")
        tx.set_setting(PORTAL_CONFIGURATION_KEY, configuration)
    portal = blank("billing_portal.session", tx, "bps_")
    portal.update(
        configuration=configuration,
        customer=customer["id"],
        locale=as_str(params.get("locale"), "locale"),
        return_url=as_str(params.get("return_url"), "return_url"),
        url=f"{tx.base_url}/portal/{portal['id']}",
    )
    return tx.put(portal)
