"""Sign up, sign in, sign out, password reset, the account page and API keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bugfixer import flows
from bugfixer.accounts import letters
from bugfixer.accounts import service as accounts
from bugfixer.accounts.mail import recent_outbox
from bugfixer.accounts.models import ApiKey, User
from bugfixer.accounts.service import EmailTaken, SignedIn
from bugfixer.billing import service as billing
from bugfixer.billing.models import Subscription, Transaction
from bugfixer.billing.plans import Plan, find_plan
from bugfixer.deps import (
    ContextDep,
    CsrfProtected,
    CurrentUser,
    IdentityDep,
    LoopbackOnly,
    client_address,
    site_url,
)
from bugfixer.errors import AppError, InvalidInput, NotFound
from bugfixer.fixing.models import Fix
from bugfixer.fixing.service import list_fixes
from bugfixer.metering.identity import Identity, SignedCookie

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
NEW_KEY_COOKIE = "bf_new_key"


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only local paths: never redirect a user to another site after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def _page(
    request: Request, ctx: ContextDep, name: str, status: int = 200, **context: object
) -> Response:
    return ctx.templates.TemplateResponse(request, name, context, status_code=status)


def _signed_in(request: Request, ctx: ContextDep, signed_in: SignedIn, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    ctx.session_cookie.set_on(response, signed_in.token, secure=request.url.scheme == "https")
    return response


def _session_token(request: Request, ctx: ContextDep) -> str | None:
    return ctx.session_cookie.read(request.cookies.get(ctx.session_cookie.name))


def _auth_page(
    request: Request,
    ctx: ContextDep,
    template: str,
    next: str,
    *,
    error: AppError | None = None,
    email: str = "",
) -> Response:
    """The sign-up or sign-in form, again with the reason when something was wrong."""
    target = safe_next(next)
    return _page(
        request,
        ctx,
        template,
        error.status if error else 200,
        error=error,
        next=target,
        form={"email": email},
        plan=_plan_being_bought(ctx, target),
    )


def _plan_being_bought(ctx: ContextDep, target: str) -> Plan | None:
    """The plan chosen on the pricing page before signing up, carried in ``next``."""
    url = urlsplit(target)
    if url.path != "/billing/checkout":
        return None
    code = parse_qs(url.query).get("plan", [""])[0]
    return find_plan(ctx.plans, code)


# -- sign up --------------------------------------------------------------------------


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(
    request: Request, ctx: ContextDep, identity: IdentityDep, next: str = ""
) -> Response:
    return _auth_page(request, ctx, "signup.html", next)


@router.post("/signup", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def signup(
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    """A new address gets an account (signed in at once) and a confirmation link.

    An address that has an account already gets the same answer, so the form does not
    tell who has one; its owner is told by mail instead.
    """
    await ctx.limiter.hit("signup", client_address(request))
    await ctx.limiter.hit("signup", f"browser:{identity.fingerprint or identity.visitor_id}")
    await ctx.limiter.hit("signup", f"email:{email.strip().lower()}")  # bounds mail to one address
    try:
        # Argon2 is slow on purpose: hashed in a worker thread, before any transaction.
        prepared = await run_in_threadpool(accounts.prepare_account, email=email, password=password)
        try:
            signed_in = await ctx.db.write(
                flows.sign_up,
                account=prepared,
                identity=identity,
                old_token=_session_token(request, ctx),
            )
        except EmailTaken:  # a sign-up for the same address won a race
            signed_in = None
    except AppError as exc:
        return _auth_page(request, ctx, "signup.html", next, error=exc, email=email)
    target = safe_next(next)
    if signed_in is None:
        site = site_url(request, ctx.settings)
        ctx.postman.post(letters.sign_up_attempt(to=prepared.email, site=site), what="sign-up")
        return RedirectResponse(target, status_code=303)
    _mail_confirmation(request, ctx, user_id=signed_in.user_id, email=prepared.email)
    log.info("account %s created", signed_in.user_id)
    return _signed_in(request, ctx, signed_in, target)


def _mail_confirmation(request: Request, ctx: ContextDep, *, user_id: int, email: str) -> None:
    token = accounts.make_confirm_token(
        user_id=user_id, email=email, secret=ctx.settings.signing_key
    )
    link = f"{site_url(request, ctx.settings)}/confirm/{quote(token)}"
    ctx.postman.post(letters.confirm_address(to=email, link=link), what="confirmation")


# -- sign in / out ----------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, ctx: ContextDep, identity: IdentityDep, next: str = ""
) -> Response:
    return _auth_page(request, ctx, "login.html", next)


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def login(
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    address, who = client_address(request), email.strip().lower()
    await ctx.limiter.hit("login", address)  # one address trying many accounts
    await ctx.limiter.hit("login", f"email:{who}|{address}")  # one address guessing one account
    # Everyone guessing one account, at a slower rate: another address's wrong guesses
    # do not lock the owner out of their own.
    await ctx.limiter.hit("login_email", who)
    try:
        found = await ctx.db.read(accounts.find_user, email=email)
        # Argon2 verification and any rehash run in a worker thread, outside transactions.
        user, new_hash = await run_in_threadpool(_check_password, found, password)
        signed_in = await ctx.db.write(
            flows.sign_in,
            user_id=user.id,
            visitor_id=identity.visitor_id,
            old_token=_session_token(request, ctx),
            new_hash=new_hash,
        )
    except AppError as exc:
        return _auth_page(request, ctx, "login.html", next, error=exc, email=email)
    return _signed_in(request, ctx, signed_in, safe_next(next))


def _check_password(user: User | None, password: str) -> tuple[User, str | None]:
    checked = accounts.check_credentials(user=user, password=password)
    return checked, accounts.rehash_if_needed(user=checked, password=password)


@router.post("/logout", dependencies=[CsrfProtected])
async def logout(request: Request, ctx: ContextDep) -> Response:
    await ctx.db.write(accounts.sign_out, token=_session_token(request, ctx))
    response = RedirectResponse("/", status_code=303)
    ctx.session_cookie.clear_on(response)
    return response


# -- password reset ---------------------------------------------------------------------


@router.get("/reset", response_class=HTMLResponse)
async def reset_request_page(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    return _page(request, ctx, "reset_request.html", form={})


@router.post("/reset", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def reset_request(
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    email: str = Form(""),
) -> Response:
    """Always the same answer, as fast, so the page does not tell who has an account:
    the mail (if any) goes out after the answer."""
    await ctx.limiter.hit("reset", client_address(request))
    await ctx.limiter.hit("reset", f"email:{email.strip().lower()}")
    user = await ctx.db.read(accounts.find_user, email=email)
    if user is not None:
        token = accounts.make_reset_token(user=user, secret=ctx.settings.signing_key)
        link = f"{site_url(request, ctx.settings)}/reset/{quote(token)}"
        ctx.postman.post(letters.reset_password(to=user.email, link=link), what="password reset")
    return _page(request, ctx, "reset_request.html", sent=True, form={"email": email})


@router.get("/reset/{token}", response_class=HTMLResponse)
async def reset_form(
    token: str, request: Request, ctx: ContextDep, identity: IdentityDep
) -> Response:
    try:
        await ctx.db.read(
            accounts.user_for_reset_token, token=token, secret=ctx.settings.signing_key
        )
    except AppError as exc:
        return _page(request, ctx, "reset_form.html", exc.status, error=exc, token=None)
    return _page(request, ctx, "reset_form.html", token=token)


@router.post("/reset/{token}", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def reset_password(
    token: str,
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    password: str = Form(""),
) -> Response:
    await ctx.limiter.hit("reset", client_address(request))
    secret = ctx.settings.signing_key
    try:
        found = await ctx.db.read(accounts.user_for_reset_token, token=token, secret=secret)
        password_hash = await run_in_threadpool(
            accounts.new_password_hash, password, email=found.email
        )
        # The link is checked again inside the write: it works exactly once.
        signed_in = await ctx.db.write(
            accounts.reset_password,
            token=token,
            secret=secret,
            password_hash=password_hash,
            old_token=_session_token(request, ctx),
        )
    except AppError as exc:
        valid = exc.code != "bad_reset_link"
        return _page(
            request, ctx, "reset_form.html", exc.status, error=exc, token=token if valid else None
        )
    log.info("password reset for account %s", signed_in.user_id)
    return _signed_in(request, ctx, signed_in, "/account")


# -- the account page and API keys -------------------------------------------------------


@dataclass(frozen=True)
class AccountPage:
    """What the account page shows, read in one transaction."""

    address: accounts.AddressState
    subscription: Subscription | None
    transactions: list[Transaction]
    fixes: list[Fix]
    api_keys: list[ApiKey]


def read_account_page(*, session: Session, identity: Identity) -> AccountPage:
    user_id = identity.user_id
    assert user_id is not None
    return AccountPage(
        address=accounts.address_state(session=session, user_id=user_id),
        subscription=billing.current_subscription(session=session, user_id=user_id),
        transactions=billing.ledger(session=session, user_id=user_id),
        fixes=list_fixes(session=session, identity=identity, limit=20),
        api_keys=accounts.list_api_keys(session=session, user_id=user_id),
    )


async def _account_page(
    request: Request, ctx: ContextDep, me: Identity, **extra: object
) -> Response:
    page = await ctx.db.read(read_account_page, identity=me)
    return _page(
        request,
        ctx,
        "account.html",
        usage=await ctx.fixer.usage(me),
        address=page.address,
        confirm_sent=request.query_params.get("confirm") == "sent",
        subscription=page.subscription,
        transactions=page.transactions,
        plan_names={p.code: p.name for p in ctx.plans},
        fixes=page.fixes,
        api_keys=page.api_keys,
        **extra,
    )


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, ctx: ContextDep, me: CurrentUser) -> Response:
    return await _account_page(request, ctx, me)


def _new_key_cookie(ctx: ContextDep) -> SignedCookie:
    """Carries a new API key's secret across the redirect, to be shown exactly once."""
    return SignedCookie(ctx.settings.signing_key, name=NEW_KEY_COOKIE, max_age=300)


@router.post("/account/api-keys", dependencies=[CsrfProtected])
async def create_api_key(
    request: Request, ctx: ContextDep, me: CurrentUser, name: str = Form("")
) -> Response:
    """Create a key, then redirect: reloading the page that shows it creates nothing."""
    if len(name) > accounts.MAX_API_KEY_NAME:
        raise InvalidInput(f"Key names can be at most {accounts.MAX_API_KEY_NAME} characters.")
    created = await ctx.db.write(accounts.create_api_key, user_id=me.user_id, name=name)
    response = RedirectResponse("/account/api-keys#new-api-key", status_code=303)
    _new_key_cookie(ctx).set_on(response, created.secret, secure=request.url.scheme == "https")
    return response


@router.get("/account/api-keys", response_class=HTMLResponse)
async def api_keys(request: Request, ctx: ContextDep, me: CurrentUser) -> Response:
    """The account page; right after creating a key, with its secret, once."""
    flash = _new_key_cookie(ctx)
    secret = flash.read(request.cookies.get(NEW_KEY_COOKIE))
    response = await _account_page(request, ctx, me, new_key=secret)
    response.headers["Cache-Control"] = "no-store"
    if secret is not None:
        flash.clear_on(response)
    return response


@router.post("/account/api-keys/{key_id}/revoke", dependencies=[CsrfProtected])
async def revoke_api_key(key_id: int, ctx: ContextDep, me: CurrentUser) -> Response:
    if not await ctx.db.write(accounts.revoke_api_key, user_id=me.user_id, key_id=key_id):
        raise NotFound("There is no active API key with this id on your account.")
    return RedirectResponse("/account", status_code=303)


# -- confirming the email address ---------------------------------------------------------


@router.get("/confirm/{token}", response_class=HTMLResponse)
async def confirm_address(
    token: str, request: Request, ctx: ContextDep, identity: IdentityDep
) -> Response:
    """The link mailed at sign-up: opening it proves the mailbox is the account's."""
    try:
        address = await ctx.db.write(
            accounts.confirm_email, token=token, secret=ctx.settings.signing_key
        )
    except AppError as exc:
        return _page(request, ctx, "confirm.html", exc.status, error=exc)
    log.info("address confirmed for an account")
    return _page(request, ctx, "confirm.html", address=address)


@router.post("/account/confirm", dependencies=[CsrfProtected])
async def resend_confirmation(request: Request, ctx: ContextDep, me: CurrentUser) -> Response:
    """Mail the confirmation link again (the first may be lost or expired)."""
    await ctx.limiter.hit("confirm", f"user:{me.user_id}")
    address = await ctx.db.read(accounts.address_state, user_id=me.user_id)
    if address.verified_at is not None:
        return RedirectResponse("/account", status_code=303)
    _mail_confirmation(request, ctx, user_id=me.user_id, email=address.email)
    return RedirectResponse("/account?confirm=sent", status_code=303)


# -- the development outbox --------------------------------------------------------------


@router.get("/dev/outbox", response_class=HTMLResponse, dependencies=[LoopbackOnly])
async def outbox(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    """Mail that would have been sent, for working offline: never in production, and
    only to this machine (a reset link in it is the key to an account)."""
    if not ctx.settings.local_mode or ctx.settings.smtp_host:
        raise NotFound("Not found.")
    return _page(request, ctx, "outbox.html", messages=await ctx.db.read(recent_outbox))
