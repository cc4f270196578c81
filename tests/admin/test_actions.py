"""What an administrator can do to an account, each action audited: who, when, why."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from bugfixer.admin.models import AdminAction
from bugfixer.billing import webhooks
from bugfixer.billing.models import ComplimentaryGrant, StripeEvent, Transaction
from tests.admin.conftest import ADMIN_EMAIL, Site
from tests.billing.conftest import BROKEN, PASSWORD, sign_up, subscribe, token


def admin_browser(site: Site) -> httpx.Client:
    browser = site.browser("admin")
    r = browser.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token(browser, "/login")},
    )
    assert r.status_code == 303
    return browser


def act(admin: httpx.Client, path: str, **data: str) -> httpx.Response:
    """Press a button on a page of the admin's (its form carries the CSRF token)."""
    return admin.post(path, data={"csrf_token": token(admin, "/admin/users"), **data})


def audit(site: Site) -> list[AdminAction]:
    with site.ctx.db.session() as s:
        return list(s.scalars(select(AdminAction).order_by(AdminAction.id)))


def rows(site: Site, model, *where):  # type: ignore[no-untyped-def]
    with site.ctx.db.session() as s:
        return list(s.scalars(select(model).where(*where)))


def customer_out_of_free_fixes(site: Site, email: str = "kim@example.com") -> httpx.Client:
    customer = site.browser("customer")
    sign_up(customer, email)
    for _ in range(3):
        assert customer.post("/api/v1/fixes", json=BROKEN).status_code == 200
    assert customer.post("/api/v1/fixes", json=BROKEN).status_code == 402
    return customer


def test_complimentary_access_makes_the_fix_path_unlimited_until_revoked(site):
    customer = customer_out_of_free_fixes(site)
    user_id = site.user_id("kim@example.com")
    admin = admin_browser(site)
    page = f"/admin/users/{user_id}"
    last_day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()

    refused = act(admin, f"{page}/complimentary", until=last_day, reason="  ")
    assert refused.status_code == 422 and "Say why" in refused.text
    past = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    refused = act(admin, f"{page}/complimentary", until=past, reason="goodwill")
    assert refused.status_code == 422 and "today or later" in refused.text
    assert rows(site, ComplimentaryGrant) == [] and audit(site) == []

    r = act(admin, f"{page}/complimentary", until=last_day, reason="beta tester")
    assert r.status_code == 303 and r.headers["location"] == f"{page}?done=granted"
    fixed = customer.post("/api/v1/fixes", json=BROKEN)
    assert fixed.status_code == 200
    assert fixed.json()["usage"] == {
        "used": 0,
        "limit": None,
        "remaining": None,
        "plan": "complimentary",
    }
    assert "Unlimited fixes" in customer.get("/").text
    (grant,) = audit(site)
    assert (grant.action, grant.admin_email, grant.target_user_id, grant.reason) == (
        "grant_complimentary",
        ADMIN_EMAIL,
        user_id,
        "beta tester",
    )
    assert grant.details["last_day"] == last_day
    assert "beta tester" in admin.get(page).text

    r = act(admin, f"{page}/complimentary/revoke", reason="beta is over")
    assert r.status_code == 303
    assert customer.post("/api/v1/fixes", json=BROKEN).status_code == 402
    again = act(admin, f"{page}/complimentary/revoke", reason="twice")
    assert again.status_code == 409 and "no complimentary access" in again.text
    assert [a.action for a in audit(site)] == ["grant_complimentary", "revoke_complimentary"]
    customer.close()
    admin.close()


def test_a_refund_goes_through_stripe_to_the_ledger_and_is_audited_once(site):
    customer = site.browser("customer")
    sign_up(customer, "pat@example.com")
    subscribe(_shop(site), customer, "quarterly")
    user_id = site.user_id("pat@example.com")
    (payment,) = rows(site, Transaction, Transaction.kind == "payment")
    admin = admin_browser(site)
    page = admin.get(f"/admin/users/{user_id}").text
    assert "($12.00 refundable)" in page
    key = re.search(r'name="refund_key" value="([^"]+)"', page).group(1)
    form = {"transaction_id": str(payment.id), "refund_key": key, "reason": "asked nicely"}

    too_much = act(admin, f"/admin/users/{user_id}/refund", **form, amount="12.01")
    assert too_much.status_code == 422 and "between $0.01 and $12.00" in too_much.text
    for _ in range(2):  # a double click: one refund, one line in the log
        r = act(admin, f"/admin/users/{user_id}/refund", **form, amount="4")
        assert r.status_code == 303 and r.headers["location"].endswith("done=refunded")
    site.flush()
    refunds = rows(site, Transaction, Transaction.kind == "refund")
    assert [(t.amount_cents, t.stripe_invoice_id) for t in refunds] == [
        (-400, payment.stripe_invoice_id)
    ]
    (logged,) = audit(site)
    assert logged.action == "refund" and logged.details["amount_cents"] == 400
    assert logged.details["stripe_refund_id"] == refunds[0].stripe_object_id

    page = admin.get(f"/admin/users/{user_id}").text
    assert "($8.00 refundable)" in page
    key = re.search(r'name="refund_key" value="([^"]+)"', page).group(1)
    r = act(admin, f"/admin/users/{user_id}/refund", **{**form, "refund_key": key})
    assert r.status_code == 303  # no amount: all that is left
    site.flush()
    assert sorted(
        t.amount_cents for t in rows(site, Transaction, Transaction.kind == "refund")
    ) == [
        -800,
        -400,
    ]
    assert 'id="refund-form"' not in admin.get(f"/admin/users/{user_id}").text
    done = act(admin, f"/admin/users/{user_id}/refund", **form)
    assert done.status_code == 409 and "refunded in full" in done.text
    assert [a.details["amount_cents"] for a in audit(site)] == [400, 800]
    assert "-$8.00" in customer.get("/account").text
    customer.close()
    admin.close()


def outbox_links(site: Site, kind: str) -> list[str]:
    from bugfixer.accounts.mail import OutboxMessage

    with site.ctx.db.session() as s:
        bodies = s.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id))
        return [m.group(1) for body in bodies for m in re.finditer(rf"(/{kind}/\S+)", body)]


def test_reset_and_confirmation_mails_are_sent_and_audited(site):
    customer = site.browser("customer")
    sign_up(customer, "lee@example.com")
    user_id = site.user_id("lee@example.com")
    admin = admin_browser(site)
    refused = act(admin, f"/admin/users/{user_id}/password-reset", reason="")
    assert refused.status_code == 422
    r = act(admin, f"/admin/users/{user_id}/password-reset", reason="asked by mail")
    assert r.status_code == 303 and r.headers["location"].endswith("done=mailed")
    assert len(outbox_links(site, "reset")) == 1

    assert "address not confirmed" in admin.get(f"/admin/users/{user_id}").text
    r = act(admin, f"/admin/users/{user_id}/confirmation", reason="first link expired")
    assert r.status_code == 303
    link = outbox_links(site, "confirm")[-1]
    assert customer.get(link).status_code == 200  # the customer opens it
    again = act(admin, f"/admin/users/{user_id}/confirmation", reason="once more")
    assert again.status_code == 409 and "already confirmed" in again.text
    assert [(a.action, a.target_user_id, a.reason) for a in audit(site)] == [
        ("password_reset_mail", user_id, "asked by mail"),
        ("confirmation_mail", user_id, "first link expired"),
    ]
    assert act(admin, "/admin/users/999999/password-reset", reason="x").status_code == 404
    customer.close()
    admin.close()


def test_a_failed_webhook_event_is_shown_with_its_error_and_replayed(site, monkeypatch):
    real = webhooks.HANDLERS["invoice.paid"]

    def broken(ctx, obj):  # type: ignore[no-untyped-def]
        raise RuntimeError("ledger offline")

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", broken)
    customer = site.browser("customer")
    sign_up(customer, "ray@example.com")
    subscribe(_shop(site), customer, "monthly")
    (failed,) = rows(site, StripeEvent, StripeEvent.type == "invoice.paid")
    assert failed.status == "failed"
    admin = admin_browser(site)
    page = admin.get("/admin/events?status=failed").text
    assert failed.id in page and "RuntimeError: ledger offline" in page

    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", real)
    r = act(admin, f"/admin/events/{failed.id}/replay")
    assert r.status_code == 303
    assert r.headers["location"] == f"/admin/events?replayed={failed.id}&outcome=processed"
    (event,) = rows(site, StripeEvent, StripeEvent.id == failed.id)
    assert event.status == "processed" and event.error is None
    assert len(rows(site, Transaction, Transaction.kind == "payment")) == 1
    (logged,) = audit(site)
    assert logged.action == "replay_webhook" and logged.details["event_id"] == failed.id
    assert act(admin, "/admin/events/evt_unknown/replay").status_code == 404
    customer.close()
    admin.close()


def _shop(site: Site):  # type: ignore[no-untyped-def]
    from tests.billing.conftest import Shop

    return Shop(app=site.app, base=site.base)
