"""Accounts for the operator: search, one account's page, and the audited actions on it."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bugfixer.accounts import letters
from bugfixer.accounts import service as accounts
from bugfixer.accounts.mail import Email, MailError
from bugfixer.accounts.models import User
from bugfixer.admin import audit, users
from bugfixer.admin.format import money
from bugfixer.deps import AdminUser, ContextDep, CsrfProtected, GatewayDep, site_url
from bugfixer.errors import AppError
from bugfixer.metering.identity import Identity

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

NOTICES = {
    "granted": "Complimentary access granted.",
    "revoked": "Complimentary access revoked.",
    "refunded": "Refund sent to Stripe. It appears in the ledger when Stripe confirms it.",
    "mailed": "Mail sent.",
}


def _grace(ctx: ContextDep) -> timedelta:
    return timedelta(days=ctx.settings.past_due_grace_days)


@router.get("/admin/users", response_class=HTMLResponse)
async def user_list(
    request: Request, ctx: ContextDep, me: AdminUser, q: str = "", page: int = 1
) -> Response:
    found = await ctx.db.read(
        users.search_users,
        query=q,
        page=page,
        admin_emails=ctx.settings.admin_email_list,
        grace=_grace(ctx),
    )
    return ctx.templates.TemplateResponse(
        request,
        "admin/users.html",
        {
            "page": found,
            "section": "users",
            "plan_names": _plan_names(ctx),
            "money": money,
        },
    )


def _plan_names(ctx: ContextDep) -> dict[str, str]:
    return {
        **{p.code: p.name for p in ctx.plans},
        "complimentary": "Complimentary",
        "free": "Free",
    }


async def _user_page(
    request: Request,
    ctx: ContextDep,
    user_id: int,
    *,
    error: AppError | None = None,
    notice: str = "",
) -> Response:
    detail = await ctx.db.read(
        users.user_detail,
        user_id=user_id,
        admin_emails=ctx.settings.admin_email_list,
        grace=_grace(ctx),
    )
    return ctx.templates.TemplateResponse(
        request,
        "admin/user.html",
        {
            "d": detail,
            "section": "users",
            "plan_names": _plan_names(ctx),
            "money": money,
            "labels": audit.LABELS,
            "error": error,
            "notice": NOTICES.get(notice, ""),
            # A new key per page load: a double submit refunds once (Stripe idempotency).
            "refund_key": secrets.token_urlsafe(16),
        },
        status_code=error.status if error else 200,
    )


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
async def user_page(
    user_id: int, request: Request, ctx: ContextDep, me: AdminUser, done: str = ""
) -> Response:
    return await _user_page(request, ctx, user_id, notice=done)


def _done(user_id: int, what: str) -> Response:
    return RedirectResponse(f"/admin/users/{user_id}?done={what}", status_code=303)


@router.post("/admin/users/{user_id}/complimentary", dependencies=[CsrfProtected])
async def grant(
    user_id: int,
    request: Request,
    ctx: ContextDep,
    me: AdminUser,
    until: str = Form(""),
    reason: str = Form(""),
) -> Response:
    """Unlimited fixes through ``until`` (a date), without payment."""
    try:
        await ctx.db.write(
            users.grant_access,
            admin=me,
            user_id=user_id,
            until=users.grant_until(until),
            reason=audit.checked_reason(reason),
        )
    except AppError as exc:
        return await _user_page(request, ctx, user_id, error=exc)
    log.info("admin %s granted account %s complimentary access", me.user_id, user_id)
    return _done(user_id, "granted")


@router.post("/admin/users/{user_id}/complimentary/revoke", dependencies=[CsrfProtected])
async def revoke(
    user_id: int, request: Request, ctx: ContextDep, me: AdminUser, reason: str = Form("")
) -> Response:
    try:
        await ctx.db.write(
            users.revoke_access, admin=me, user_id=user_id, reason=audit.checked_reason(reason)
        )
    except AppError as exc:
        return await _user_page(request, ctx, user_id, error=exc)
    log.info("admin %s revoked complimentary access of account %s", me.user_id, user_id)
    return _done(user_id, "revoked")


@router.post("/admin/users/{user_id}/refund", dependencies=[CsrfProtected])
async def refund(
    user_id: int,
    request: Request,
    ctx: ContextDep,
    gateway: GatewayDep,
    me: AdminUser,
    transaction_id: int = Form(...),
    amount: str = Form(""),
    reason: str = Form(""),
    refund_key: str = Form(""),
) -> Response:
    """Refund a payment through Stripe; the ledger row arrives with Stripe's webhook."""
    try:
        await run_in_threadpool(
            _refund, ctx, gateway, me, user_id, transaction_id, amount, reason, refund_key
        )
    except AppError as exc:
        return await _user_page(request, ctx, user_id, error=exc)
    return _done(user_id, "refunded")


def _refund(
    ctx: ContextDep,
    gateway: GatewayDep,
    me: Identity,
    user_id: int,
    transaction_id: int,
    amount: str,
    reason: str,
    refund_key: str,
) -> None:
    """Blocking (Stripe): checked, refunded, then audited; no transaction spans the call."""
    reason = audit.checked_reason(reason)
    payment, cents = ctx.db.read_now(
        users.payment_to_refund,
        user_id=user_id,
        transaction_id=transaction_id,
        amount_cents=users.parse_cents(amount),
    )
    key = refund_key if refund_key.replace("-", "").replace("_", "").isalnum() else ""
    made = gateway.refund_payment(
        invoice_id=payment.stripe_invoice_id,
        charge_id=payment.stripe_charge_id,
        amount_cents=cents,
        metadata={"admin": me.email or "", "reason": reason[:500], "user_id": str(user_id)},
        idempotency_key=f"admin-refund-{payment.id}-{key or secrets.token_urlsafe(8)}",
    )
    if made.replayed:
        return  # a repeated submit: Stripe refunded once and the log already says so
    ctx.db.write_now(
        audit.record_action,
        admin=me,
        action=audit.REFUND,
        reason=reason,
        target_user_id=user_id,
        details={
            "transaction_id": payment.id,
            "amount_cents": cents,
            "currency": payment.currency,
            "stripe_refund_id": made.refund.get("id"),
            "stripe_invoice_id": payment.stripe_invoice_id,
        },
    )
    log.info("admin %s refunded %s of payment %s", me.user_id, cents, payment.id)


@router.post("/admin/users/{user_id}/password-reset", dependencies=[CsrfProtected])
async def send_password_reset(
    user_id: int, request: Request, ctx: ContextDep, me: AdminUser, reason: str = Form("")
) -> Response:
    """Mail the account a fresh single-use link to choose a new password."""

    def letter(user: User) -> Email:
        token = accounts.make_reset_token(user=user, secret=ctx.settings.signing_key)
        link = f"{site_url(request, ctx.settings)}/reset/{quote(token)}"
        return letters.reset_password(to=user.email, link=link)

    return await _mail(request, ctx, me, user_id, reason, audit.RESET_MAIL, letter)


@router.post("/admin/users/{user_id}/confirmation", dependencies=[CsrfProtected])
async def send_confirmation(
    user_id: int, request: Request, ctx: ContextDep, me: AdminUser, reason: str = Form("")
) -> Response:
    """Mail the link that confirms the account's address again (not once confirmed)."""

    def letter(user: User) -> Email:
        if user.verified_at is not None:
            raise users.Conflict("This address is already confirmed.")
        token = accounts.make_confirm_token(
            user_id=user.id, email=user.email, secret=ctx.settings.signing_key
        )
        link = f"{site_url(request, ctx.settings)}/confirm/{quote(token)}"
        return letters.confirm_address(to=user.email, link=link)

    return await _mail(request, ctx, me, user_id, reason, audit.CONFIRM_MAIL, letter)


async def _mail(
    request: Request,
    ctx: ContextDep,
    me: Identity,
    user_id: int,
    reason: str,
    action: str,
    letter: Callable[[User], Email],
) -> Response:
    """Send first, then audit: the log records only mail the server handed over.

    Sent here rather than by the postman (which sends after the answer), so the
    administrator sees at once whether the mail server took it.
    """
    try:
        reason = audit.checked_reason(reason)
        user = await ctx.db.read(users.account_of, user_id=user_id)
        message = letter(user)
        try:
            await run_in_threadpool(ctx.mailer.send, message)
        except MailError as exc:
            log.exception("could not send the %s for account %s", action, user_id)
            raise AppError(
                "The mail could not be sent; try again later.", code="mail_failed", status=503
            ) from exc
        await ctx.db.write(
            audit.record_action,
            admin=me,
            action=action,
            reason=reason,
            target_user_id=user_id,
            details={"to": user.email},
        )
    except AppError as exc:
        return await _user_page(request, ctx, user_id, error=exc)
    return _done(user_id, "mailed")
