"""Stripe, through the official SDK. The only module (with the webhook check) that imports it.

The same code talks to real Stripe (test or live keys) or to the built-in emulator,
which differs only by the API base address.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import stripe

from bugfixer.billing.plans import Plan
from bugfixer.errors import AppError

log = logging.getLogger(__name__)


class PaymentsUnavailable(AppError):
    status = 503
    code = "payments_unavailable"

    def __init__(
        self, message: str = "Payments are unavailable right now; nothing was charged."
    ) -> None:
        super().__init__(message)
        self.headers["Retry-After"] = "30"


class RefundRefused(AppError):
    """Stripe said no (already refunded, more than is left, ...): its words are shown."""

    status = 409
    code = "refund_refused"


@dataclass(frozen=True)
class RefundMade:
    refund: dict[str, Any]
    replayed: bool  # an earlier request with the same idempotency key made it


class InvalidWebhook(AppError):
    status = 400
    code = "invalid_signature"


def verify_webhook(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event, if the Stripe-Signature header matches the raw body; else 400."""
    if not signature:
        raise InvalidWebhook("Missing Stripe-Signature header.")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError):
        raise InvalidWebhook("The Stripe-Signature does not match the payload.") from None
    # The verified body as plain JSON (the SDK's objects carry Decimals).
    return json.loads(payload)


class StripeGateway:
    def __init__(self, secret_key: str, *, api_base: str | None = None) -> None:
        addresses = {"api": api_base} if api_base else {}
        self.api_base = api_base
        self.client = stripe.StripeClient(
            secret_key, base_addresses=addresses, max_network_retries=2
        )

    def browser_url(self, url: str) -> str:
        """Where to send a browser for a hosted page (checkout, portal).

        Stripe's pages as they are. The emulator's pages carry the address the app
        called it on; the browser gets the path alone and stays on the origin it uses.
        """
        if self.api_base:
            own = urlsplit(self.api_base)
            target = urlsplit(url)
            if (target.scheme, target.netloc) == (own.scheme, own.netloc):
                return urlunsplit(("", "", target.path, target.query, target.fragment))
        return url

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            log.warning("Stripe %s failed: %s", what, exc.user_message or type(exc).__name__)
            raise PaymentsUnavailable() from exc

    # -- catalog --------------------------------------------------------------------

    def price_for(self, plan: Plan) -> dict[str, Any] | None:
        prices = self._call(
            "price lookup",
            self.client.v1.prices.list,
            params={"lookup_keys": [plan.lookup_key], "active": True, "limit": 1},
        )
        return _plain(prices.data[0]) if prices.data else None

    def current_price_id(self, plan: Plan) -> str:
        """The Price to charge for the plan; syncs first if Stripe does not match the config."""
        price = self.price_for(plan)
        if price is not None and price_matches(price, plan):
            return price["id"]
        return self.sync_plan(plan)[0]

    def sync_plan(self, plan: Plan) -> tuple[str, str]:
        """Make Stripe match the plan; returns (price id, what was done). Idempotent."""
        price = self.price_for(plan)
        if price is not None and price_matches(price, plan):
            product_id = price["product"]
            product = self._call("product", self.client.v1.products.retrieve, product_id)
            if product["name"] != plan.name or (product["description"] or "") != plan.description:
                self._call(
                    "product update",
                    self.client.v1.products.update,
                    product_id,
                    params={"name": plan.name, "description": plan.description or ""},
                )
                return price["id"], "updated product"
            return price["id"], "unchanged"
        if price is not None:
            product_id = price["product"]
        else:
            product = self._call(
                "product create",
                self.client.v1.products.create,
                params={
                    "name": plan.name,
                    "description": plan.description or plan.name,
                    "metadata": {"plan_code": plan.code},
                },
            )
            product_id = product["id"]
        created = self._call(
            "price create",
            self.client.v1.prices.create,
            params={
                "product": product_id,
                "unit_amount": plan.amount_cents,
                "currency": plan.currency,
                "recurring": {"interval": plan.interval, "interval_count": plan.interval_count},
                "lookup_key": plan.lookup_key,
                "transfer_lookup_key": True,
                "metadata": {"plan_code": plan.code},
            },
        )
        return created["id"], "created price" if price is None else "new price, lookup key moved"

    # -- customers, checkout, portal --------------------------------------------------

    def create_customer(self, *, email: str, user_id: int) -> str:
        customer = self._call(
            "customer create",
            self.client.v1.customers.create,
            params={"email": email, "metadata": {"user_id": str(user_id)}},
        )
        return customer["id"]

    def create_checkout(
        self,
        *,
        price_id: str,
        customer_id: str,
        user_id: int,
        plan: Plan,
        success_url: str,
        cancel_url: str,
    ) -> dict[str, Any]:
        metadata = {"user_id": str(user_id), "plan_code": plan.code}
        session = self._call(
            "checkout session",
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "subscription",
                "line_items": [{"price": price_id, "quantity": 1}],
                "customer": customer_id,
                "client_reference_id": str(user_id),
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
        )
        return _plain(session)

    def retrieve_checkout(self, session_id: str) -> dict[str, Any]:
        session = self._call(
            "checkout retrieve",
            self.client.v1.checkout.sessions.retrieve,
            session_id,
            params={"expand": ["line_items"]},
        )
        return _plain(session)

    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        sub = self._call(
            "subscription retrieve", self.client.v1.subscriptions.retrieve, subscription_id
        )
        return _plain(sub)

    def refund_payment(
        self,
        *,
        invoice_id: str | None,
        charge_id: str | None,
        amount_cents: int | None,
        metadata: dict[str, str],
        idempotency_key: str,
        reason: str = "requested_by_customer",
    ) -> RefundMade:
        """Refund a paid invoice (its charge, or the payment intent that paid it).

        ``amount_cents`` None refunds what is left. The idempotency key makes a repeated
        request (a double click, a retry) refund once; ``replayed`` says it was one.
        """
        if charge_id:
            target = {"charge": charge_id}
        elif invoice_id:
            target = {"payment_intent": self._intent_that_paid(invoice_id)}
        else:
            raise RefundRefused("This payment has no Stripe invoice or charge to refund.")
        params: dict[str, Any] = {**target, "reason": reason, "metadata": metadata}
        if amount_cents is not None:
            params["amount"] = amount_cents
        try:
            refund = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.IdempotencyError as exc:
            raise RefundRefused("This refund is already being made; reload the page.") from exc
        except stripe.InvalidRequestError as exc:
            raise RefundRefused(f"Stripe refused the refund: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:
            log.warning("Stripe refund failed: %s", exc.user_message or type(exc).__name__)
            raise PaymentsUnavailable("Stripe is unavailable; nothing was refunded.") from exc
        response = refund.last_response
        replayed = bool(response and response.headers.get("Idempotent-Replayed") == "true")
        return RefundMade(refund=_plain(refund), replayed=replayed)

    def _intent_that_paid(self, invoice_id: str) -> str:
        payments = self._call(
            "invoice payments",
            self.client.v1.invoice_payments.list,
            params={"invoice": invoice_id, "limit": 10},
        )
        for record in map(_plain, payments.data):
            payment = record.get("payment") or {}
            if record.get("status") == "paid" and payment.get("payment_intent"):
                return str(payment["payment_intent"])
        raise RefundRefused(f"Stripe has no successful payment of invoice {invoice_id}.")

    def create_portal(self, *, customer_id: str, return_url: str) -> str:
        session = self._call(
            "portal session",
            self.client.v1.billing_portal.sessions.create,
            params={"customer": customer_id, "return_url": return_url},
        )
        return session["url"]


def price_matches(price: dict[str, Any], plan: Plan) -> bool:
    """The Stripe Price charges exactly what the plan says, as often as it says."""
    recurring = price.get("recurring") or {}
    return (
        price.get("unit_amount") == plan.amount_cents
        and price.get("currency") == plan.currency
        and recurring.get("interval") == plan.interval
        and recurring.get("interval_count") == plan.interval_count
    )


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as JSON-safe dicts (what the API sent, without SDK types)."""
    return json.loads(str(obj))
