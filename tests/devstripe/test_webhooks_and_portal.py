"""Webhook delivery (signatures, retries, redelivery) and the customer portal page."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from bugfixer.devstripe import RETRY_DELAYS, sign

from .conftest import WEBHOOK_SECRET, Env, Plans


def test_signature_is_the_one_stripe_would_send() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event"})

    header = sign(payload, WEBHOOK_SECRET, timestamp=int(time.time()))

    expected = stripe.WebhookSignature.generate_signature_header(
        payload, WEBHOOK_SECRET, timestamp=int(header.split(",")[0][2:])
    )
    assert header == expected
    assert stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET).id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")


def test_a_failing_endpoint_gets_the_event_on_a_later_attempt(env: Env) -> None:
    env.receiver.fail_first = 2
    assert len(RETRY_DELAYS) >= 2

    customer = env.client.v1.customers.create(params={"email": "retry@example.com"})
    event = env.client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert event.pending_webhooks == 1  # the API call did not wait for delivery
    env.flush()

    assert env.receiver.attempts == [event.id, event.id, event.id]
    assert [e.data.object.id for e in env.receiver.events] == [customer.id]
    deliveries = env.http.get("/_stripe/_test/deliveries", params={"event": event.id}).json()
    assert [a["status"] for a in deliveries["attempts"]] == [500, 500, 200]
    assert deliveries["pending_webhooks"] == 0
    assert env.client.v1.events.retrieve(event.id).pending_webhooks == 0


def test_redeliver_sends_an_event_again(env: Env) -> None:
    env.client.v1.customers.create(params={"email": "again@example.com"})
    env.flush()
    event = env.receiver.events[0]

    env.control("redeliver", event=event.id)
    env.flush()

    assert [e.id for e in env.receiver.events] == [event.id, event.id]
    missing = env.http.post("/_stripe/_test/redeliver", json={"event": "evt_nope"})
    assert missing.status_code == 404


def test_events_follow_the_order_they_happened_in(env: Env, plans: Plans) -> None:
    env.receiver.fail_first = 1
    session = env.subscribe(plans.monthly.id)
    env.client.v1.subscriptions.update(session.subscription, params={"cancel_at_period_end": True})

    env.flush()

    assert env.receiver.types()[-2:] == [
        "checkout.session.completed",
        "customer.subscription.updated",
    ]
    assert env.receiver.types()[0] == "customer.created"


def test_portal_session_page_cancels_and_resumes_the_plan(env: Env, plans: Plans) -> None:
    session = env.subscribe(plans.quarterly.id)
    env.flush()
    env.receiver.events.clear()
    portal = env.client.v1.billing_portal.sessions.create(
        params={"customer": session.customer, "return_url": "https://app.test/account"}
    )
    assert portal.url == f"{env.base}/_stripe/portal/{portal.id}"

    page = env.http.get(portal.url)
    assert page.status_code == 200
    assert "TEST MODE" in page.text and "Code Bug Fixer" in page.text
    assert "$12.00" in page.text and "Renews on" in page.text
    assert 'href="https://app.test/account"' in page.text
    assert "Cancel plan" in page.text

    asked = env.http.post(f"{portal.url}/cancel", data={"subscription": session.subscription})
    assert asked.status_code == 200 and "Confirm cancellation" in asked.text
    assert "Go back, keep my plan" in asked.text
    sub = env.client.v1.subscriptions.retrieve(session.subscription)
    assert sub.cancel_at_period_end is False  # nothing happens until it is confirmed
    cancel = env.http.post(
        f"{portal.url}/cancel", data={"subscription": session.subscription, "confirm": "yes"}
    )
    assert cancel.status_code == 303 and cancel.headers["location"] == portal.url
    sub = env.client.v1.subscriptions.retrieve(session.subscription)
    assert sub.cancel_at_period_end is True and sub.status == "active"
    page = env.http.get(portal.url)
    assert "Ends on" in page.text and "Resume plan" in page.text

    resume = env.http.post(f"{portal.url}/resume", data={"subscription": session.subscription})
    assert resume.status_code == 303
    assert env.client.v1.subscriptions.retrieve(session.subscription).cancel_at_period_end is False
    env.flush()
    assert env.receiver.types() == ["customer.subscription.updated"] * 2
    assert env.receiver.events[0].data.previous_attributes["cancel_at_period_end"] is False


def test_portal_refuses_another_customers_subscription(env: Env, plans: Plans) -> None:
    session = env.subscribe(plans.monthly.id)
    stranger = env.client.v1.customers.create(params={"email": "stranger@example.com"})
    portal = env.client.v1.billing_portal.sessions.create(params={"customer": stranger.id})

    response = env.http.post(
        f"{portal.url}/cancel", data={"subscription": session.subscription, "confirm": "yes"}
    )

    assert response.status_code == 404
    assert env.client.v1.subscriptions.retrieve(session.subscription).cancel_at_period_end is False
