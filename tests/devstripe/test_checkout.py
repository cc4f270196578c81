"""Checkout Sessions and the hosted checkout page, driven like a browser (form posts)."""

from __future__ import annotations

from html import unescape

import pytest
import stripe

from .conftest import Env, Plans

CHECKOUT_EVENTS = [
    "customer.created",
    "customer.subscription.created",
    "invoice.created",
    "invoice.paid",
    "invoice.payment_succeeded",
    "checkout.session.completed",
]


def test_hosted_page_shows_plan_amount_period_and_labelled_inputs(env: Env, plans: Plans) -> None:
    session = env.checkout_session(plans.quarterly.id, customer_email="mrsmith@gmail.com")

    page = env.http.get(session.url)

    assert page.status_code == 200
    text = page.text
    assert "TEST MODE" in text
    assert "Code Bug Fixer" in text
    assert "$12.00" in text and "every 3 months" in text
    for label, name in (
        ("Email", "email"),
        ("Card number", "card_number"),
        ("Expiry", "expiry"),
        ("CVC", "cvc"),
    ):
        assert f'<label for="{name}">{label}</label>' in text
        assert f'id="{name}" name="{name}"' in text
    assert 'value="mrsmith@gmail.com"' in text
    assert "MM / YY" in text
    assert '<button type="submit">Subscribe</button>' in text


def test_paying_with_4242_redirects_to_success_and_completes_the_session(
    env: Env, plans: Plans
) -> None:
    session = env.checkout_session(
        plans.quarterly.id,
        client_reference_id="account-42",
        metadata={"account_id": "42"},
        subscription_data={"metadata": {"account_id": "42", "plan": "quarterly"}},
    )
    assert session.status == "open" and session.payment_status == "unpaid"

    response = env.pay(session)

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"https://app.test/billing/success?session_id={session.id}"
    )
    done = env.client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["subscription", "customer"]}
    )
    assert done.status == "complete" and done.payment_status == "paid"
    assert done.amount_total == 1200 and done.currency == "usd"
    assert done.customer_details.email == "mrsmith@gmail.com"
    assert done.client_reference_id == "account-42"
    assert done.metadata.to_dict() == {"account_id": "42"}
    sub = done.subscription
    assert sub.status == "active"
    assert sub.metadata.to_dict() == {"account_id": "42", "plan": "quarterly"}
    assert sub.customer == done.customer.id
    assert done.customer.email == "mrsmith@gmail.com"
    item = sub["items"]["data"][0]
    assert item["price"]["id"] == plans.quarterly.id
    invoice = env.client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.status == "paid" and invoice.amount_paid == 1200
    assert invoice.billing_reason == "subscription_create"
    assert invoice.subscription == sub.id
    assert invoice.parent.subscription_details.subscription == sub.id
    assert done.invoice == invoice.id


def test_line_items_are_listed_and_expandable(env: Env, plans: Plans) -> None:
    session = env.checkout_session(plans.monthly.id)

    items = env.client.v1.checkout.sessions.line_items.list(session.id)
    expanded = env.client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["line_items"]}
    )

    assert [i.price.id for i in items.data] == [plans.monthly.id]
    assert items.data[0].amount_total == 500 and items.data[0].description == "Code Bug Fixer"
    assert expanded.line_items.data[0].id == items.data[0].id


def test_an_existing_customer_is_reused(env: Env, plans: Plans) -> None:
    customer = env.client.v1.customers.create(params={"email": "known@example.com"})

    session = env.subscribe(plans.monthly.id, customer=customer.id)

    assert session.customer == customer.id
    assert session.customer_details.email == "known@example.com"
    assert len(env.client.v1.customers.list().data) == 1
    env.flush()
    assert env.receiver.types().count("customer.created") == 1  # from the API call only


def test_an_existing_customers_email_is_shown_and_kept(env: Env, plans: Plans) -> None:
    customer = env.client.v1.customers.create(params={"email": "known@example.com"})
    session = env.checkout_session(plans.monthly.id, customer=customer.id)

    page = env.http.get(session.url)
    response = env.pay(session, email="someone-else@example.com")

    assert 'value="known@example.com"' in page.text and "readonly" in page.text
    assert response.status_code == 303
    done = env.client.v1.checkout.sessions.retrieve(session.id)
    assert done.customer_details.email == "known@example.com"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000 0000 0000 9995", "Your card has insufficient funds."),
    ],
)
def test_declined_cards_show_the_reason_and_create_nothing(
    env: Env, plans: Plans, number: str, message: str
) -> None:
    session = env.checkout_session(plans.monthly.id)
    events_before = [e.id for e in env.client.v1.events.list().data]

    response = env.pay(session, card_number=number)

    assert response.status_code == 402
    assert message in unescape(response.text)
    assert "TEST MODE" in response.text
    assert env.client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert env.client.v1.subscriptions.list(params={"status": "all"}).data == []
    assert env.client.v1.customers.list().data == []
    assert [e.id for e in env.client.v1.events.list().data] == events_before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("card_number", "4242 4242 4242 4241", "Your card number is invalid."),
        ("expiry", "01 / 20", "Your card's expiration date is in the past."),
        ("cvc", "", "Your card's security code is incomplete."),
        ("email", "not-an-email", "Your email address is incomplete or invalid."),
    ],
)
def test_invalid_card_details_get_400_and_create_nothing(
    env: Env, plans: Plans, field: str, value: str, message: str
) -> None:
    session = env.checkout_session(plans.monthly.id)
    events_before = [e.id for e in env.client.v1.events.list().data]

    response = env.pay(session, **{field: value})

    assert response.status_code == 400
    assert message in unescape(response.text)
    assert [e.id for e in env.client.v1.events.list().data] == events_before


def test_a_completed_session_cannot_be_paid_twice(env: Env, plans: Plans) -> None:
    session = env.subscribe(plans.monthly.id)

    again = env.http.post(
        f"/_stripe/checkout/{session.id}",
        data={
            "email": "x@example.com",
            "card_number": "4242424242424242",
            "expiry": "09/30",
            "cvc": "424",
        },
    )

    assert again.status_code == 200 and "complete" in again.text
    assert len(env.client.v1.subscriptions.list().data) == 1


def test_expire_closes_an_open_session(env: Env, plans: Plans) -> None:
    session = env.checkout_session(plans.monthly.id)

    expired = env.client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert env.http.get(f"/_stripe/checkout/{session.id}").status_code == 410
    with pytest.raises(stripe.InvalidRequestError):
        env.client.v1.checkout.sessions.expire(session.id)
    env.flush()
    assert env.receiver.types() == ["checkout.session.expired"]


def test_checkout_webhooks_arrive_signed_and_in_order(env: Env, plans: Plans) -> None:
    session = env.subscribe(plans.quarterly.id)

    counts = env.flush()

    assert env.receiver.types() == CHECKOUT_EVENTS
    assert counts["failed"] == 0
    completed = env.receiver.events[-1]
    assert completed.data.object.id == session.id
    assert completed.data.object.status == "complete"
    created = env.receiver.events[1].data.object
    assert created.id == session.subscription and created.status == "active"
    for event in env.receiver.events:
        assert event.livemode is False and event.api_version
        assert env.client.v1.events.retrieve(event.id).pending_webhooks == 0
