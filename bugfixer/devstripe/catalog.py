"""Products, prices (with lookup keys) and customers."""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from .clock import INTERVALS
from .objects import blank, diff, get
from .params import (
    StripeError,
    as_bool,
    as_int,
    as_list,
    as_str,
    invalid,
    merge_metadata,
    require,
)
from .routing import created_matches, paginate, route
from .store import Tx


def _unknown(params: dict[str, Any], allowed: set[str]) -> None:
    for key in params:
        if key not in allowed:
            raise StripeError(
                400, f"Received unknown parameter: {key}", code="parameter_unknown", param=key
            )


def _save(tx: Tx, obj: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """Store and emit ``<type>.created`` or, if anything changed, ``<type>.updated``."""
    tx.put(obj)
    if before is None:
        tx.emit(f"{obj['object']}.created", obj)
    elif previous := diff(before, obj):
        tx.emit(f"{obj['object']}.updated", obj, previous)
    return obj


def _strings(obj: dict[str, Any], params: dict[str, Any], *names: str) -> None:
    for name in names:
        if name in params:
            obj[name] = as_str(params[name], name)


# Products.

_PRODUCT_STRINGS = ("description", "statement_descriptor", "tax_code", "unit_label", "url")


@route("POST", "/v1/products")
def create_product(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    product = blank("product", tx, "prod_")
    product["name"] = str(require(params, "name"))
    if params.get("id"):
        if tx.get(params["id"]) is not None:
            raise StripeError(400, "Product already exists.", code="resource_already_exists")
        product["id"] = params["id"]
    return _update_product(tx, product, params, None)


@route("GET", "/v1/products/{id}")
def retrieve_product(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "product", id)


@route("POST", "/v1/products/{id}")
def update_product(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    product = get(tx, "product", id)
    if "name" in params:
        product["name"] = str(require(params, "name"))
    return _update_product(tx, product, params, copy.deepcopy(product))


def _update_product(
    tx: Tx, product: dict[str, Any], params: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any]:
    _strings(product, params, *_PRODUCT_STRINGS)
    if "active" in params:
        product["active"] = as_bool(params["active"], "active")
    if "metadata" in params:
        product["metadata"] = merge_metadata(product["metadata"], params["metadata"])
    if "images" in params:
        product["images"] = [str(image) for image in as_list(params, "images")]
    if params.get("default_price"):
        price = get(tx, "price", params["default_price"], param="default_price")
        if price["product"] != product["id"]:
            raise StripeError(400, "The default price must belong to this product.")
        product["default_price"] = price["id"]
    product["updated"] = tx.now
    return _save(tx, product, before)


@route("GET", "/v1/products")
def list_products(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    ids = set(as_list(params, "ids"))
    active = as_bool(params["active"], "active") if "active" in params else None
    products = tx.find(
        "product",
        where=lambda p: (
            (active is None or p["active"] == active)
            and (not ids or p["id"] in ids)
            and created_matches(params, p["created"])
        ),
    )
    return paginate(params, "/v1/products", products)


# Prices.


@route("POST", "/v1/prices")
def create_price(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    price = blank("price", tx, "price_")
    price["currency"] = str(require(params, "currency")).lower()
    if params.get("product"):
        price["product"] = get(tx, "product", params["product"], param="product")["id"]
    elif isinstance(params.get("product_data"), dict):
        product_params = params["product_data"]
        price["product"] = create_product(tx, product_params)["id"]
    else:
        raise StripeError(
            400,
            "You must specify either `product` or `product_data` when creating a price.",
            code="parameter_missing",
            param="product",
        )
    if "unit_amount" in params:
        amount = as_int(params["unit_amount"], "unit_amount", minimum=0)
    elif "unit_amount_decimal" in params:
        amount = as_int(params["unit_amount_decimal"], "unit_amount_decimal", minimum=0)
    else:
        raise StripeError(
            400,
            "You must specify either `unit_amount` or `unit_amount_decimal` for a price.",
            code="parameter_missing",
            param="unit_amount",
        )
    price.update(unit_amount=amount, unit_amount_decimal=str(amount))
    recurring = params.get("recurring")
    if isinstance(recurring, dict):
        interval = require(recurring, "interval")
        if interval not in INTERVALS:
            raise invalid("recurring[interval]", f"Invalid recurring[interval]: {interval}")
        count = as_int(recurring.get("interval_count", 1), "recurring[interval_count]", minimum=1)
        price["type"] = "recurring"
        price["recurring"] = {
            "interval": interval,
            "interval_count": count,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
    return _update_price(tx, price, params, None)


@route("GET", "/v1/prices/{id}")
def retrieve_price(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "price", id)


@route("POST", "/v1/prices/{id}")
def update_price(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    _unknown(
        params,
        {
            "active",
            "lookup_key",
            "transfer_lookup_key",
            "metadata",
            "nickname",
            "tax_behavior",
            "expand",
        },
    )
    price = get(tx, "price", id)
    return _update_price(tx, price, params, copy.deepcopy(price))


def _update_price(
    tx: Tx, price: dict[str, Any], params: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any]:
    _strings(price, params, "nickname")
    if "active" in params:
        price["active"] = as_bool(params["active"], "active")
    if "metadata" in params:
        price["metadata"] = merge_metadata(price["metadata"], params["metadata"])
    if params.get("tax_behavior"):
        price["tax_behavior"] = params["tax_behavior"]
    if "lookup_key" in params:
        key = as_str(params["lookup_key"], "lookup_key")
        transfer = as_bool(params.get("transfer_lookup_key", False), "transfer_lookup_key")
        holders = [p for p in tx.find("price", lookup_key=key) if p["id"] != price["id"]]
        if key is not None and holders and not transfer:
            raise StripeError(
                400,
                f"A price (`{holders[0]['id']}`) already uses that lookup key.",
                param="lookup_key",
            )
        for holder in holders if key is not None else []:
            _save(tx, {**holder, "lookup_key": None}, holder)
        price["lookup_key"] = key
    return _save(tx, price, before)


@route("GET", "/v1/prices")
def list_prices(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    keys = {str(key) for key in as_list(params, "lookup_keys")}
    active = as_bool(params["active"], "active") if "active" in params else None
    recurring = params.get("recurring") if isinstance(params.get("recurring"), dict) else {}

    def wanted(price: dict[str, Any]) -> bool:
        interval = (price["recurring"] or {}).get("interval")
        return (
            (not keys or price["lookup_key"] in keys)
            and (active is None or price["active"] == active)
            and params.get("product") in (None, price["product"])
            and params.get("type") in (None, price["type"])
            and params.get("currency") in (None, price["currency"])
            and recurring.get("interval") in (None, interval)
            and created_matches(params, price["created"])
        )

    return paginate(params, "/v1/prices", tx.find("price", where=wanted))


# Customers.

_CUSTOMER_STRINGS = ("description", "email", "name", "phone")


@route("POST", "/v1/customers")
def create_customer(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    customer = blank("customer", tx, "cus_")
    customer["invoice_prefix"] = "".join(
        secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)
    )
    return _update_customer(tx, customer, params, None)


@route("GET", "/v1/customers/{id}")
def retrieve_customer(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return get(tx, "customer", id)


@route("POST", "/v1/customers/{id}")
def update_customer(tx: Tx, params: dict[str, Any], id: str) -> dict[str, Any]:
    customer = get(tx, "customer", id)
    return _update_customer(tx, customer, params, copy.deepcopy(customer))


def _update_customer(
    tx: Tx, customer: dict[str, Any], params: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, Any]:
    _strings(customer, params, *_CUSTOMER_STRINGS)
    if "metadata" in params:
        customer["metadata"] = merge_metadata(customer["metadata"], params["metadata"])
    if "preferred_locales" in params:
        customer["preferred_locales"] = [str(x) for x in as_list(params, "preferred_locales")]
    return _save(tx, customer, before)


@route("GET", "/v1/customers")
def list_customers(tx: Tx, params: dict[str, Any]) -> dict[str, Any]:
    email = params.get("email")
    customers = tx.find(
        "customer",
        where=lambda c: email in (None, c["email"]) and created_matches(params, c["created"]),
    )
    return paginate(params, "/v1/customers", customers)
