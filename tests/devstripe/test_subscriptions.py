"""Subscription lifecycle under the emulated clock: renewals, cancellations, failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import stripe

from .conftest import Env, Plans


def _month_later(timestamp: int, months: int) -> datetime:
    start = datetime.fromtimestamp(timestamp, UTC)
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1)


def _subscribed(env: Env, price: str) -> stripe.Subscription:
    session = env.subscribe(price)
    env.flush()
    env.receiver.events.clear()
    return env.client.v1.subscriptions.retrieve(session.subscription)


def test_new_subscription_period_is_three_calendar_months_for_quarterly(
    env: Env, plans: Plans
) -> None:
    sub = _subscribed(env, plans.quarterly.id)

    item = sub["items"]["data"][0]
    assert item["current_period_start"] == sub.start_date == sub.billing_cycle_anchor
    end = datetime.fromtimestamp(item["current_period_end"], UTC)
    assert end == _month_later(item["current_period_start"], 3)


def test_cancel_at_period_end_emits_updated_with_previous_attributes(
    env: Env, plans: Plans
) -> None:
    sub = _subscribed(env, plans.monthly.id)

    updated = env.client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})

    assert updated.cancel_at_period_end is True
    assert updated.cancel_at == updated["items"]["data"][0]["current_period_end"]
    assert updated.status == "active"
    env.flush()
    assert env.receiver.types() == ["customer.subscription.updated"]
    event = env.receiver.events[0]
    assert event.data.previous_attributes["cancel_at_period_end"] is False
    assert event.data.object.cancel_at_period_end is True

    resumed = env.client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert resumed.cancel_at_period_end is False and resumed.cancel_at is None


def test_advancing_past_the_period_end_renews_with_a_new_paid_invoice(
    env: Env, plans: Plans
) -> None:
    sub = _subscribed(env, plans.quarterly.id)
    first_end = sub["items"]["data"][0]["current_period_end"]

    result = env.advance(days=93)

    renewed = env.client.v1.subscriptions.retrieve(sub.id)
    item = renewed["items"]["data"][0]
    assert renewed.status == "active"
    assert item["current_period_start"] == first_end
    end = datetime.fromtimestamp(item["current_period_end"], UTC)
    assert end == _month_later(sub["items"]["data"][0]["current_period_start"], 6)
    invoices = env.client.v1.invoices.list(params={"subscription": sub.id})
    assert [i.billing_reason for i in invoices.data] == [
        "subscription_cycle",
        "subscription_create",
    ]
    assert invoices.data[0].status == "paid" and invoices.data[0].amount_paid == 1200
    assert renewed.latest_invoice == invoices.data[0].id
    expected = [
        "invoice.created",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    assert [e["type"] for e in result["events"]] == expected
    env.flush()
    assert env.receiver.types() == expected
    assert env.receiver.events[0].created == first_end
    assert env.client.v1.invoices.list(params={"customer": sub.customer}).data[0].id == (
        invoices.data[0].id
    )


def test_after_cancel_at_period_end_the_period_end_deletes_the_subscription(
    env: Env, plans: Plans
) -> None:
    sub = _subscribed(env, plans.monthly.id)
    env.client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    end = sub["items"]["data"][0]["current_period_end"]

    env.advance(days=32)

    ended = env.client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled"
    assert ended.ended_at == end
    env.flush()
    assert env.receiver.types() == [
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ]
    assert len(env.client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    assert env.client.v1.subscriptions.list(params={"customer": sub.customer}).data == []
    everything = env.client.v1.subscriptions.list(
        params={"customer": sub.customer, "status": "all"}
    )
    assert [s.id for s in everything.data] == [sub.id]


def test_a_failed_renewal_leaves_the_subscription_past_due(env: Env, plans: Plans) -> None:
    sub = _subscribed(env, plans.monthly.id)
    env.control("fail_next_renewal", subscription=sub.id)

    env.advance(days=31)

    assert env.client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    invoice = env.client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    assert invoice.status == "open"
    assert invoice.attempt_count == 1 and invoice.amount_paid == 0
    assert invoice.amount_remaining == 500
    env.flush()
    assert env.receiver.types() == [
        "invoice.created",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert env.receiver.events[-1].data.previous_attributes["status"] == "active"

    env.advance(days=31)
    assert env.client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_deleting_a_subscription_cancels_it_now(env: Env, plans: Plans) -> None:
    sub = _subscribed(env, plans.monthly.id)

    canceled = env.client.v1.subscriptions.cancel(sub.id)

    assert canceled.status == "canceled" and canceled.ended_at is not None
    env.flush()
    assert env.receiver.types() == ["customer.subscription.deleted"]
    with pytest.raises(stripe.InvalidRequestError):
        env.client.v1.subscriptions.cancel(sub.id)


def test_refunding_a_charge_emits_charge_refunded(env: Env, plans: Plans) -> None:
    sub = _subscribed(env, plans.quarterly.id)
    payments = env.client.v1.invoice_payments.list(params={"invoice": sub.latest_invoice})
    intent = env.client.v1.payment_intents.retrieve(payments.data[0].payment.payment_intent)

    refund = env.client.v1.refunds.create(params={"payment_intent": intent.id})

    assert refund.status == "succeeded" and refund.amount == 1200
    assert refund.charge == intent.latest_charge
    charge = env.client.v1.charges.retrieve(intent.latest_charge)
    assert charge.refunded is True and charge.amount_refunded == 1200
    assert charge.customer == sub.customer
    env.flush()
    assert env.receiver.types() == ["charge.refunded", "refund.created"]
    event = env.receiver.events[0]
    assert event.data.object.amount_refunded == 1200
    assert event.data.previous_attributes["amount_refunded"] == 0
    with pytest.raises(stripe.InvalidRequestError) as again:
        env.client.v1.refunds.create(params={"charge": charge.id})
    assert again.value.code == "charge_already_refunded"


def test_a_refund_keeps_its_reason_and_refuses_an_unknown_one(env: Env, plans: Plans) -> None:
    sub = _subscribed(env, plans.quarterly.id)
    charge = env.client.v1.charges.list(params={"customer": sub.customer}).data[0]
    with pytest.raises(stripe.InvalidRequestError) as bad:
        env.client.v1.refunds.create(params={"charge": charge.id, "reason": "changed_mind"})
    assert bad.value.param == "reason"
    assert env.client.v1.charges.retrieve(charge.id).amount_refunded == 0
    refund = env.client.v1.refunds.create(
        params={"charge": charge.id, "reason": "requested_by_customer", "metadata": {"by": "x"}}
    )
    assert (refund.reason, refund.metadata["by"]) == ("requested_by_customer", "x")


def test_partial_refunds_add_up(env: Env, plans: Plans) -> None:
    sub = _subscribed(env, plans.quarterly.id)
    charge = env.client.v1.charges.list(params={"customer": sub.customer}).data[0]

    env.client.v1.refunds.create(params={"charge": charge.id, "amount": 200})

    after = env.client.v1.charges.retrieve(charge.id)
    assert after.amount_refunded == 200 and after.refunded is False
    with pytest.raises(stripe.InvalidRequestError):
        env.client.v1.refunds.create(params={"charge": charge.id, "amount": 5000})


def test_events_filter_by_type_and_created_newest_first(env: Env, plans: Plans) -> None:
    env.subscribe(plans.monthly.id)
    start = env.control("now")["now"]
    env.advance(days=1)
    env.subscribe(plans.quarterly.id)

    paid = env.client.v1.events.list(params={"type": "invoice.paid"})
    assert [e.data.object.amount_paid for e in paid.data] == [1200, 500]
    recent = env.client.v1.events.list(params={"created": {"gt": start}})
    assert recent.data[0].type == "checkout.session.completed"
    assert all(e.created > start for e in recent.data)
    assert len(recent.data) == 6  # the second checkout's events only
    wildcard = env.client.v1.events.list(params={"type": "customer.subscription.*"})
    assert {e.type for e in wildcard.data} == {"customer.subscription.created"}
    first = env.client.v1.events.list(params={"limit": 3})
    rest = env.client.v1.events.list(params={"limit": 100, "starting_after": first.data[-1].id})
    assert first.has_more is True and rest.has_more is False
    assert len(first.data) + len(rest.data) == len(
        env.client.v1.events.list(params={"limit": 100}).data
    )


def test_the_clock_moves_only_forward(env: Env) -> None:
    before = env.control("now")["now"]
    moved = env.advance(seconds=3600)

    assert moved["now"] >= before + 3600
    bad = env.http.post("/_stripe/_test/advance", json={"days": -1})
    assert bad.status_code == 400
