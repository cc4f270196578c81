"""Sign up, sign in, sign out, password reset, the account page and API keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bugfixer import flows
from bugfixer.accounts import service as accounts
from bugfixer.accounts.mail import MailError, recent_outbox
from bugfixer.accounts.models import ApiKey, User
from bugfixer.accounts.service import SignedIn
from bugfixer.billing import service as billing
from bugfixer.billing.models import Subscription, Transaction
from bugfixer.billing.plans import Plan, find_plan
from bugfixer.deps import ContextDep, CsrfProtected, CurrentUser, IdentityDep, client_address
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
    ctx.limiter.hit("signup", client_address(request))
    ctx.limiter.hit("signup", f"browser:{identity.fingerprint or identity.visitor_id}")
    try:
        # Argon2 is slow on purpose: hashed in a worker thread, before any transaction.
        prepared = await run_in_threadpool(accounts.prepare_account, email=email, password=password)
        signed_in = await ctx.db.write(
            flows.sign_up,
            account=prepared,
            identity=identity,
            old_token=_session_token(request, ctx),
        )
    except AppError as exc:
        return _auth_page(request, ctx, "signup.html", next, error=exc, email=email)
    log.info("account %s created", signed_in.user_id)
    return _signed_in(request, ctx, signed_in, safe_next(next))


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
    ctx.limiter.hit("login", client_address(request))
    ctx.limiter.hit("login", f"email:{email.strip().lower()}")
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
    """Always the same answer, so the page does not tell who has an account."""
    ctx.limiter.hit("reset", client_address(request))
    ctx.limiter.hit("reset", f"email:{email.strip().lower()}")
    user = await ctx.db.read(accounts.find_user, email=email)
    if user is not None:
        message = accounts.password_reset_email(
            user=user,
            secret=ctx.settings.signing_key,
            base_url=ctx.settings.public_url or str(request.base_url),
        )
        try:
            await run_in_threadpool(ctx.mailer.send, message)
        except MailError:
            log.exception("could not send the password reset email for account %s", user.id)
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
    ctx.limiter.hit("reset", client_address(request))
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

    subscription: Subscription | None
    transactions: list[Transaction]
    fixes: list[Fix]
    api_keys: list[ApiKey]


def read_account_page(*, session: Session, identity: Identity) -> AccountPage:
    user_id = identity.user_id
    assert user_id is not None
    return AccountPage(
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


# -- the development outbox --------------------------------------------------------------


@router.get("/dev/outbox", response_class=HTMLResponse)
async def outbox(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    """Mail that would have been sent, for working offline. Never in production."""
    if not ctx.settings.local_mode or ctx.settings.smtp_host:
        raise NotFound("Not found.")
    return _page(request, ctx, "outbox.html", messages=await ctx.db.read(recent_outbox))
