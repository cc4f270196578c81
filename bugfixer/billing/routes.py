"""Pricing, checkout, the success page, the billing portal and the Stripe webhook."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bugfixer.analytics import events
from bugfixer.billing import service
from bugfixer.billing.gateway import verify_webhook
from bugfixer.billing.plans import find_plan, format_money
from bugfixer.billing.webhooks import WebhookFailed, process
from bugfixer.deps import ContextDep, CsrfProtected, CurrentUser, GatewayDep, IdentityDep
from bugfixer.errors import AppError, InvalidInput
from bugfixer.metering.identity import Identity
from bugfixer.observability import metrics
from bugfixer.web.pageviews import note_views

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.get("/pricing", response_class=HTMLResponse)
async def pricing(
    request: Request, ctx: ContextDep, identity: IdentityDep, reason: str = ""
) -> Response:
    response = ctx.templates.TemplateResponse(
        request, "pricing.html", {"usage": await ctx.fixer.usage(identity)}
    )
    views: list[tuple[str, dict[str, object] | None]] = [(events.PRICING_VIEWED, None)]
    if reason == "quota":  # sent here by a 402
        views.append((events.PAYWALL_SHOWN, {"via": "pricing"}))
    note_views(ctx, request, response, identity, *views)
    return response


def _start_checkout(
    request: Request,
    ctx: ContextDep,
    gateway: GatewayDep,
    me: Identity,
    plan_code: str,
) -> Response:
    plan = find_plan(ctx.plans, plan_code)
    if plan is None:
        raise InvalidInput(f"There is no plan {plan_code[:40]!r}; choose one on the pricing page.")
    if ctx.fixer.usage_now(me).limit is None:
        return RedirectResponse("/account?already=1", status_code=303)
    price_id = gateway.current_price_id(plan)
    base = (ctx.settings.public_url or str(request.base_url)).rstrip("/")
    customer_id = service.customer_for(
        db=ctx.db, gateway=gateway, user_id=me.user_id, email=me.email
    )
    checkout = gateway.create_checkout(
        price_id=price_id,
        customer_id=customer_id,
        user_id=me.user_id,
        plan=plan,
        success_url=f"{base}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base}/pricing?canceled=1",
    )
    ctx.db.write_now(
        service.record_checkout,
        checkout_id=checkout["id"],
        user_id=me.user_id,
        plan=plan,
        visitor_id=me.visitor_id,
    )
    log.info("checkout %s started for account %s (%s)", checkout["id"], me.user_id, plan.code)
    metrics.record_checkout(plan.code, "started")
    return RedirectResponse(gateway.browser_url(checkout["url"]), status_code=303)


@router.post("/billing/checkout", dependencies=[CsrfProtected])
def checkout(
    request: Request,
    ctx: ContextDep,
    gateway: GatewayDep,
    identity: IdentityDep,
    plan: str = Form(""),
) -> Response:
    """Subscribe: the server picks the price from the plan code; no amount is accepted."""
    if not identity.signed_in:
        return _sign_up_first(plan)
    return _start_checkout(request, ctx, gateway, identity, plan)


@router.get("/billing/checkout")
def checkout_after_sign_in(
    request: Request, ctx: ContextDep, gateway: GatewayDep, identity: IdentityDep, plan: str = ""
) -> Response:
    """Where sign-up sends a visitor who chose a plan: straight on to checkout."""
    if not identity.signed_in:
        return _sign_up_first(plan)
    return _start_checkout(request, ctx, gateway, identity, plan)


def _sign_up_first(plan: str) -> Response:
    target = quote(f"/billing/checkout?plan={plan}", safe="")
    return RedirectResponse(f"/signup?next={target}", status_code=303)


@router.get("/billing/success", response_class=HTMLResponse)
def success(
    request: Request, ctx: ContextDep, gateway: GatewayDep, me: CurrentUser, session_id: str = ""
) -> Response:
    """Confirmed from the session Stripe holds, never from the URL's word."""
    if not session_id.startswith("cs_"):
        raise InvalidInput("This link has no checkout session.")
    checkout = gateway.retrieve_checkout(session_id)
    if checkout.get("client_reference_id") != str(me.user_id):
        raise AppError("This checkout belongs to another account.", code="forbidden", status=403)
    paid = checkout.get("status") == "complete" and checkout.get("payment_status") == "paid"
    plan_code = (checkout.get("metadata") or {}).get("plan_code")
    plan = find_plan(ctx.plans, plan_code)
    if paid and checkout.get("subscription"):
        # The webhook will say the same; storing it now means no wait for it.
        data = gateway.retrieve_subscription(service.object_id(checkout["subscription"]))
        service.store_subscription(db=ctx.db, data=data, plans=ctx.plans)
    amount = format_money(int(checkout.get("amount_total") or 0), checkout.get("currency") or "usd")
    return ctx.templates.TemplateResponse(
        request,
        "billing_success.html",
        {
            "paid": paid,
            "amount": amount,
            "plan_name": plan.name if plan else plan_code or "",
            "usage": ctx.fixer.usage_now(me),
        },
    )


@router.post("/billing/portal", dependencies=[CsrfProtected])
def portal(request: Request, ctx: ContextDep, gateway: GatewayDep, me: CurrentUser) -> Response:
    """Stripe's Billing Portal: cancel, resume, change the card."""
    customer_id = ctx.db.read_now(service.stripe_customer_of, user_id=me.user_id)
    if customer_id is None:
        raise InvalidInput("You have no billing account yet; choose a plan first.")
    url = gateway.create_portal(
        customer_id=customer_id,
        return_url=(ctx.settings.public_url or str(request.base_url)).rstrip("/") + "/account",
    )
    return RedirectResponse(gateway.browser_url(url), status_code=303)


@router.post("/stripe/webhook")
async def webhook(request: Request, ctx: ContextDep, gateway: GatewayDep) -> Response:
    """Stripe's events: verified on the raw body, stored once, applied with their effects."""
    payload = await request.body()
    event = verify_webhook(
        payload, request.headers.get("stripe-signature"), ctx.settings.webhook_secret
    )
    try:
        outcome = await run_in_threadpool(
            lambda: process(db=ctx.db, gateway=gateway, plans=ctx.plans, event=event)
        )
    except WebhookFailed:
        metrics.record_webhook_event(event["type"], "failed")
        return JSONResponse({"error": "handler_failed", "message": "Will retry."}, status_code=500)
    metrics.record_webhook_event(event["type"], outcome)
    return JSONResponse({"received": True, "outcome": outcome})
