"""The webhook pipeline against real emulator events: signatures, duplicates, order, money."""

from __future__ import annotations

import json

import httpx
import stripe
from sqlalchemy import delete, select

from bugfixer.billing import webhooks
from bugfixer.billing.models import StripeEvent, Subscription, Transaction
from bugfixer.devstripe import sign
from tests.billing.conftest import BROKEN, sign_up, subscribe


def sdk(shop) -> stripe.StripeClient:  # type: ignore[no-untyped-def]
    key = shop.app.state.ctx.settings.devstripe_key
    return stripe.StripeClient(key, base_addresses={"api": f"{shop.base}/_stripe"})


def rows(shop, model, *where):  # type: ignore[no-untyped-def]
    with shop.app.state.ctx.db.session() as s:
        return list(s.scalars(select(model).where(*where)))


def raw_event(shop, event_type: str) -> dict:  # type: ignore[type-arg]
    (event,) = sdk(shop).v1.events.list(params={"type": event_type, "limit": 1}).data
    return json.loads(str(event))


def deliver(shop, event: dict, secret: str | None = None) -> httpx.Response:  # type: ignore[type-arg]
    payload = json.dumps(event)
    secret = secret or shop.app.state.ctx.settings.webhook_secret
    return httpx.post(
        f"{shop.base}/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"},
    )


def subscribed(shop, plan: str = "quarterly") -> httpx.Client:  # type: ignore[no-untyped-def]
    client = shop.client()
    sign_up(client)
    subscribe(shop, client, plan)
    return client


def test_bad_or_missing_signature_is_400_and_stores_nothing(shop):
    event = {"id": "evt_forged", "type": "invoice.paid", "created": 1, "data": {"object": {}}}
    assert deliver(shop, event, secret="whsec_wrong").status_code == 400
    r = httpx.post(f"{shop.base}/stripe/webhook", content=json.dumps(event))
    assert r.status_code == 400 and r.json()["error"] == "invalid_signature"
    assert rows(shop, StripeEvent) == []


def test_the_same_event_delivered_five_times_makes_one_ledger_row(shop):
    subscribed(shop).close()
    event = raw_event(shop, "invoice.paid")
    outcomes = [deliver(shop, event).json()["outcome"] for _ in range(5)]
    assert outcomes == ["duplicate"] * 5
    assert len(rows(shop, Transaction, Transaction.kind == "payment")) == 1
    assert len(rows(shop, StripeEvent, StripeEvent.id == event["id"])) == 1


def test_an_older_event_arriving_late_does_not_undo_newer_state(shop):
    client = subscribed(shop)
    (sub,) = rows(shop, Subscription)
    sdk(shop).v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    shop.flush()
    assert rows(shop, Subscription)[0].cancel_at_period_end is True
    created = raw_event(shop, "customer.subscription.created")
    created["id"] = "evt_late_copy_of_created"  # a first delivery, but of old news
    assert deliver(shop, created).json()["outcome"] == "processed"
    assert rows(shop, Subscription)[0].cancel_at_period_end is True
    client.close()


def test_updated_arriving_before_created_still_builds_the_subscription(shop):
    subscribed(shop).close()
    with shop.app.state.ctx.db.transaction() as s:
        s.execute(delete(Subscription))
    updated = raw_event(shop, "customer.subscription.created")
    updated["type"] = "customer.subscription.updated"
    updated["id"] = "evt_updated_first"
    assert deliver(shop, updated).status_code == 200
    (sub,) = rows(shop, Subscription)
    assert sub.status == "active" and sub.plan_code == "quarterly"


def test_failed_renewal_is_past_due_with_grace_and_a_ledger_row(shop):
    client = subscribed(shop)
    (sub,) = rows(shop, Subscription)
    httpx.post(f"{shop.base}/_stripe/_test/fail_next_renewal", json={"subscription": sub.id})
    shop.advance(days=95)
    (sub,) = rows(shop, Subscription)
    assert sub.status == "past_due" and sub.past_due_since is not None
    failed = rows(shop, Transaction, Transaction.kind == "payment_failed")
    assert [(t.amount_cents, t.plan_code) for t in failed] == [(1200, "quarterly")]
    r = client.post("/api/v1/fixes", json=BROKEN)
    assert r.status_code == 200 and r.json()["usage"]["plan"] == "quarterly"
    assert "Payment failed" in client.get("/account").text
    client.close()


def test_renewal_adds_a_payment_and_extends_the_period(shop):
    subscribed(shop).close()
    before = rows(shop, Subscription)[0].current_period_end
    shop.advance(days=95)
    after = rows(shop, Subscription)[0].current_period_end
    assert after > before
    assert len(rows(shop, Transaction, Transaction.kind == "payment")) == 2


def test_refund_adds_a_negative_ledger_row(shop):
    client = subscribed(shop)
    (sub,) = rows(shop, Subscription)
    (charge,) = sdk(shop).v1.charges.list(params={"customer": sub.stripe_customer_id}).data
    sdk(shop).v1.refunds.create(params={"charge": charge.id})
    shop.flush()
    (refund,) = rows(shop, Transaction, Transaction.kind == "refund")
    assert (refund.amount_cents, refund.currency, refund.plan_code) == (-1200, "usd", "quarterly")
    assert "-$12.00" in client.get("/account").text
    client.close()


def test_cancel_keeps_access_to_the_period_end_then_it_stops(shop):
    client = subscribed(shop)
    (sub,) = rows(shop, Subscription)
    sdk(shop).v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    shop.flush()
    assert "Ends on" in client.get("/account").text
    assert client.post("/api/v1/fixes", json=BROKEN).status_code == 200
    shop.advance(days=95)
    assert rows(shop, Subscription)[0].status == "canceled"
    r = client.post("/api/v1/fixes", json=BROKEN)  # back on the free plan, 3 unused
    assert r.json()["usage"] == {"used": 1, "limit": 3, "remaining": 2, "plan": "free"}
    client.close()


def test_a_failing_handler_answers_500_records_the_error_and_the_retry_succeeds(shop, monkeypatch):
    real = webhooks.HANDLERS["invoice.paid"]
    calls = []

    def flaky(ctx, obj):  # type: ignore[no-untyped-def]
        calls.append(obj["id"])
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        real(ctx, obj)

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", flaky)
    subscribed(shop).close()
    (event,) = rows(shop, StripeEvent, StripeEvent.type == "invoice.paid")
    assert event.status == "processed" and event.attempts == 2 and len(calls) == 2
    assert len(rows(shop, Transaction, Transaction.kind == "payment")) == 1


def test_a_failed_event_is_kept_with_its_error_for_replay(shop, monkeypatch):
    subscribed(shop).close()
    event = raw_event(shop, "invoice.paid")
    event["id"] = "evt_to_replay"

    def broken(ctx, obj):  # type: ignore[no-untyped-def]
        raise RuntimeError("ledger offline")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", broken)
    r = deliver(shop, event)
    assert r.status_code == 500
    (stored,) = rows(shop, StripeEvent, StripeEvent.id == "evt_to_replay")
    assert stored.status == "failed" and "ledger offline" in stored.error
