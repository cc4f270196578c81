"""Stripe delivers at least once, sometimes the same event several times at the same moment."""

from __future__ import annotations

import asyncio
import copy
import json

import httpx
from sqlalchemy import delete

from bugfixer.billing.models import StripeEvent, Subscription, Transaction
from bugfixer.devstripe import sign
from tests.billing.test_webhooks import raw_event, rows, subscribed

DELIVERIES = 20


def _variants(shop) -> list[dict]:  # type: ignore[no-untyped-def]
    """Ten distinct events about one subscription: five invoices paid, five updates."""
    paid = raw_event(shop, "invoice.paid")
    updated = raw_event(shop, "customer.subscription.created")
    events = []
    for n in range(5):
        invoice = copy.deepcopy(paid)
        invoice["id"] = f"evt_concurrent_paid_{n}"
        invoice["data"]["object"]["id"] = f"in_concurrent_{n}"
        events.append(invoice)
        update = copy.deepcopy(updated)
        update["id"] = f"evt_concurrent_updated_{n}"
        update["type"] = "customer.subscription.updated"
        events.append(update)
    return events


async def _deliver_all(shop, events: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    secret = shop.app.state.ctx.settings.webhook_secret
    limits = httpx.Limits(max_connections=len(events) * DELIVERIES)
    async with httpx.AsyncClient(base_url=shop.base, timeout=120, limits=limits) as client:

        async def deliver(event: dict) -> int:  # type: ignore[type-arg]
            payload = json.dumps(event)
            r = await client.post(
                "/stripe/webhook",
                content=payload,
                headers={
                    "Stripe-Signature": sign(payload, secret),
                    "Content-Type": "application/json",
                },
            )
            return r.status_code

        return await asyncio.gather(*(deliver(e) for e in events for _ in range(DELIVERIES)))


def test_twenty_concurrent_deliveries_of_ten_events_all_succeed_once_each(shop):
    subscribed(shop).close()
    events = _variants(shop)
    # Start from nothing stored, so the deliveries also race to create the subscription.
    with shop.app.state.ctx.db.transaction() as s:
        s.execute(delete(Subscription))
        s.execute(delete(Transaction))

    statuses = asyncio.run(_deliver_all(shop, events))

    assert statuses == [200] * (len(events) * DELIVERIES)
    stored = {e.id: e for e in rows(shop, StripeEvent, StripeEvent.id.like("evt_concurrent_%"))}
    assert sorted(stored) == sorted(e["id"] for e in events)
    assert {e.status for e in stored.values()} == {"processed"}
    assert all(e.error is None for e in stored.values())
    payments = rows(shop, Transaction, Transaction.kind == "payment")
    assert sorted(t.stripe_object_id for t in payments) == [f"in_concurrent_{n}" for n in range(5)]
    (sub,) = rows(shop, Subscription)
    assert sub.status == "active" and sub.plan_code == "quarterly"
