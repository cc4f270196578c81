"""Paying through the real stripe SDK against the built-in emulator, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bugfixer.billing.models import StripeEvent, Subscription, Transaction
from tests.billing.conftest import BROKEN, checkout, pay, sign_up, subscribe


def rows(shop, model, *where):  # type: ignore[no-untyped-def]
    with shop.app.state.ctx.db.session() as s:
        return list(s.scalars(select(model).where(*where)))


def test_quarterly_checkout_unlocks_unlimited_fixes(shop):
    with shop.client() as client:
        for _ in range(3):
            assert client.post("/api/v1/fixes", json=BROKEN).status_code == 200
        assert client.post("/api/v1/fixes", json=BROKEN).status_code == 402
        sign_up(client)
        page = subscribe(shop, client)
        assert page.status_code == 200
        assert (
            "You have successfully paid $12.00 for the Quarterly plan for unlimited access "
            "to the Code Bug Fixer" in page.text
        )
        for _ in range(10):
            r = client.post("/api/v1/fixes", json=BROKEN)
            assert r.status_code == 200
            assert r.json()["usage"] == {
                "used": 0,
                "limit": None,
                "remaining": None,
                "plan": "quarterly",
            }
        account = client.get("/account").text
        assert "Quarterly" in account and "Renews on" in account and "$12.00" in account
    (sub,) = rows(shop, Subscription)
    months = (sub.current_period_end.year - sub.current_period_start.year) * 12 + (
        sub.current_period_end.month - sub.current_period_start.month
    )
    assert sub.status == "active" and sub.plan_code == "quarterly" and months == 3
    (payment,) = rows(shop, Transaction)
    assert (payment.kind, payment.amount_cents, payment.currency) == ("payment", 1200, "usd")


def test_declined_card_shows_the_error_and_grants_nothing(shop):
    with shop.client() as client:
        sign_up(client)
        started = checkout(client, "monthly")
        declined = pay(
            client,
            started.headers["location"],
            {"card_number": "4000 0000 0000 0002", "expiry": "09 / 30", "cvc": "424"},
        )
        assert declined.status_code == 402 and "Your card was declined." in declined.text
        poor = pay(
            client,
            started.headers["location"],
            {"card_number": "4000 0000 0000 9995", "expiry": "09 / 30", "cvc": "424"},
        )
        assert "insufficient funds" in poor.text
        shop.flush()
        assert "Free plan" in client.get("/account").text
    assert rows(shop, Subscription) == [] and rows(shop, Transaction) == []


def test_subscribing_signed_out_signs_up_first_then_goes_straight_to_checkout(shop):
    with shop.client() as client:
        r = checkout(client, "annual")
        assert r.status_code == 303 and r.headers["location"].startswith("/signup?next=")
        r = sign_up(client, next="/billing/checkout?plan=annual")
        assert r.status_code == 303 and r.headers["location"] == "/billing/checkout?plan=annual"
        r = client.get(r.headers["location"])
        assert r.status_code == 303 and "/_stripe/checkout/cs_" in r.headers["location"]
        assert "$50" in client.get(r.headers["location"]).text


def test_the_price_comes_from_the_plan_never_from_the_browser(shop):
    with shop.client() as client:
        sign_up(client)
        r = checkout(client, "quarterly", amount="1", amount_cents="1", price="price_fake")
        page = client.get(r.headers["location"]).text
        assert "$12" in page
        assert checkout(client, "platinum").status_code == 422


def test_success_page_is_read_from_stripe_not_the_url(shop):
    with shop.client() as client:
        sign_up(client)
        started = checkout(client, "monthly")
        session_id = started.headers["location"].rsplit("/", 1)[1]
        unpaid = client.get(f"/billing/success?session_id={session_id}&amount=1&plan=annual")
        assert "Payment not completed" in unpaid.text
        assert client.get("/billing/success?session_id=nonsense").status_code == 422
    with shop.client("someone-else/1") as other:
        sign_up(other, email="eve@example.com")
        assert other.get(f"/billing/success?session_id={session_id}").status_code == 403


def test_customer_is_reused_for_a_second_checkout(shop):
    with shop.client() as client:
        sign_up(client)
        first = checkout(client, "monthly").headers["location"]
        second = checkout(client, "annual").headers["location"]
        assert first != second
    with shop.app.state.ctx.db.session() as s:
        from bugfixer.billing.models import BillingCustomer

        assert s.scalar(select(func.count()).select_from(BillingCustomer)) == 1


def test_webhook_events_are_each_stored_once_and_processed(shop):
    with shop.client() as client:
        sign_up(client)
        subscribe(shop, client)
    events = rows(shop, StripeEvent)
    by_type = {e.type: e.status for e in events}
    for handled in (
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.paid",
    ):
        assert by_type[handled] == "processed"
    assert all(e.status in ("processed", "ignored") for e in events)
    assert all(e.received_at <= datetime.now(UTC) for e in events)


def test_fixes_keep_flowing_while_a_checkout_and_its_webhooks_are_processed(shop):
    """No database lock is held across a Stripe call, so nothing waits on anything else."""
    import concurrent.futures

    def fixes(n: int) -> list[int]:
        with shop.client(f"bystander/{n}") as other:
            return [other.post("/api/v1/fixes", json=BROKEN).status_code for _ in range(3)]

    with shop.client() as client, concurrent.futures.ThreadPoolExecutor(8) as pool:
        sign_up(client)
        running = [pool.submit(fixes, n) for n in range(8)]
        page = subscribe(shop, client)
        assert "You have successfully paid $12.00" in page.text
        assert all(f.result(timeout=30) == [200, 200, 200] for f in running)
