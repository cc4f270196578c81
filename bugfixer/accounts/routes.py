"""Sign up, sign in, sign out, password reset, the account page and API keys."""

from __future__ import annotations

import logging
from urllib.parse import quote

from anyio import from_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bugfixer.accounts import service as accounts
from bugfixer.accounts.mail import Email, MailError, recent_outbox
from bugfixer.accounts.models import User
from bugfixer.billing import service as billing
from bugfixer.billing.plans import format_money
from bugfixer.deps import (
    ContextDep,
    CsrfProtected,
    CurrentUser,
    IdentityDep,
    SessionDep,
    WriteSessionDep,
    client_address,
)
from bugfixer.errors import AppError, NotFound
from bugfixer.fixing.service import list_fixes
from bugfixer.metering import service as metering
from bugfixer.metering.identity import Identity

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only local paths: never redirect a user to another site after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def _page(
    request: Request, ctx: ContextDep, name: str, status: int = 200, **context: object
) -> Response:
    return ctx.templates.TemplateResponse(request, name, context, status_code=status)


def _signed_in(
    request: Request, ctx: ContextDep, session: WriteSessionDep, user: User, target: str
) -> Response:
    """Start a fresh session (rotating away any old one) and go on."""
    old = ctx.session_cookie.read(request.cookies.get(ctx.session_cookie.name))
    if old:
        accounts.end_session(session=session, token=old)
    token = accounts.start_session(session=session, user=user)
    response = RedirectResponse(target, status_code=303)
    ctx.session_cookie.set_on(response, token, secure=request.url.scheme == "https")
    return response


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
    return _page(
        request,
        ctx,
        template,
        error.status if error else 200,
        error=error,
        next=safe_next(next),
        form={"email": email},
    )


# -- sign up --------------------------------------------------------------------------


@router.get("/signup", response_class=HTMLResponse)
def signup_page(
    request: Request, ctx: ContextDep, identity: IdentityDep, next: str = ""
) -> Response:
    return _auth_page(request, ctx, "signup.html", next)


@router.post("/signup", response_class=HTMLResponse, dependencies=[CsrfProtected])
def signup(
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    from_thread.run(ctx.limiter.hit, "signup", client_address(request))
    from_thread.run(
        ctx.limiter.hit, "signup", f"browser:{identity.fingerprint or identity.visitor_id}"
    )
    try:
        prepared = accounts.prepare_account(email=email, password=password)
        with ctx.session_factory.begin() as session:
            trial_id = metering.trial_for_new_account(session=session, identity=identity)
            # BUGFIXER_ADMIN_EMAILS is read at every request, not copied onto the account.
            user = accounts.create_user(session=session, account=prepared, trial_id=trial_id)
            accounts.claim_visitor(session=session, user=user, visitor_id=identity.visitor_id)
            response = _signed_in(request, ctx, session, user, safe_next(next))
    except AppError as exc:
        return _auth_page(request, ctx, "signup.html", next, error=exc, email=email)
    log.info("account %s created", user.id)
    return response


# -- sign in / out ----------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, ctx: ContextDep, identity: IdentityDep, next: str = ""
) -> Response:
    return _auth_page(request, ctx, "login.html", next)


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfProtected])
def login(
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    from_thread.run(ctx.limiter.hit, "login", client_address(request))
    from_thread.run(ctx.limiter.hit, "login", f"email:{email.strip().lower()}")
    try:
        with ctx.read_session_factory() as reader:
            found = accounts.authenticate(session=reader, email=email, password=password)
    except AppError as exc:
        return _auth_page(request, ctx, "login.html", next, error=exc, email=email)
    with ctx.session_factory.begin() as session:
        user = session.get(User, found.id)
        accounts.upgrade_hash_if_needed(session=session, user=user, password=password)
        accounts.claim_visitor(session=session, user=user, visitor_id=identity.visitor_id)
        return _signed_in(request, ctx, session, user, safe_next(next))


@router.post("/logout", dependencies=[CsrfProtected])
def logout(request: Request, ctx: ContextDep, session: WriteSessionDep) -> Response:
    token = ctx.session_cookie.read(request.cookies.get(ctx.session_cookie.name))
    if token:
        accounts.end_session(session=session, token=token)
    response = RedirectResponse("/", status_code=303)
    ctx.session_cookie.clear_on(response)
    return response


# -- password reset ---------------------------------------------------------------------


@router.get("/reset", response_class=HTMLResponse)
def reset_request_page(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    return _page(request, ctx, "reset_request.html", form={})


@router.post("/reset", response_class=HTMLResponse, dependencies=[CsrfProtected])
def reset_request(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    identity: IdentityDep,
    email: str = Form(""),
) -> Response:
    """Always the same answer, so the page does not tell who has an account."""
    from_thread.run(ctx.limiter.hit, "reset", client_address(request))
    from_thread.run(ctx.limiter.hit, "reset", f"email:{email.strip().lower()}")
    user = accounts.find_user(session=session, email=email)
    if user is not None:
        token = accounts.make_reset_token(user=user, secret=ctx.settings.signing_key)
        base = (ctx.settings.public_url or str(request.base_url)).rstrip("/")
        link = f"{base}/reset/{quote(token)}"
        message = Email(
            to=user.email,
            subject="Reset your Code Bug Fixer password",
            body=(
                "Someone asked to reset the password of your Code Bug Fixer account.\n\n"
                f"To choose a new password, open this link within an hour:\n{link}\n\n"
                "The link works once. If this was not you, ignore this email."
            ),
        )
        try:
            ctx.mailer.send(message)
        except MailError:
            log.exception("could not send the password reset email for account %s", user.id)
    return _page(request, ctx, "reset_request.html", sent=True, form={"email": email})


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_form(
    token: str, request: Request, ctx: ContextDep, session: SessionDep, identity: IdentityDep
) -> Response:
    try:
        accounts.user_for_reset_token(session=session, token=token, secret=ctx.settings.signing_key)
    except AppError as exc:
        return _page(request, ctx, "reset_form.html", exc.status, error=exc, token=None)
    return _page(request, ctx, "reset_form.html", token=token)


@router.post("/reset/{token}", response_class=HTMLResponse, dependencies=[CsrfProtected])
def reset_password(
    token: str,
    request: Request,
    ctx: ContextDep,
    identity: IdentityDep,
    password: str = Form(""),
) -> Response:
    from_thread.run(ctx.limiter.hit, "reset", client_address(request))
    secret = ctx.settings.signing_key
    try:
        with ctx.read_session_factory() as reader:
            found = accounts.user_for_reset_token(session=reader, token=token, secret=secret)
        password_hash = accounts.new_password_hash(password, email=found.email)
        with ctx.session_factory.begin() as session:
            # Checked again inside the transaction: a link works exactly once.
            user = accounts.user_for_reset_token(
                session=session, token=token, secret=secret, lock=True
            )
            accounts.set_password(session=session, user=user, password_hash=password_hash)
            response = _signed_in(request, ctx, session, user, "/account")
    except AppError as exc:
        valid = exc.code != "bad_reset_link"
        return _page(
            request, ctx, "reset_form.html", exc.status, error=exc, token=token if valid else None
        )
    log.info("password reset for account %s", user.id)
    return response


# -- the account page and API keys -------------------------------------------------------


def _account_page(
    request: Request,
    ctx: ContextDep,
    session,
    me: Identity,
    **extra: object,  # type: ignore[no-untyped-def]
) -> Response:
    return _page(
        request,
        ctx,
        "account.html",
        usage=ctx.fixer.usage(me),
        subscription=billing.current_subscription(session=session, user_id=me.user_id),
        transactions=billing.ledger(session=session, user_id=me.user_id),
        plan_names={p.code: p.name for p in ctx.plans},
        money=lambda cents, currency: format_money(cents, currency, exact=True),
        fixes=list_fixes(session=session, identity=me, limit=20),
        api_keys=accounts.list_api_keys(session=session, user_id=me.user_id),
        **extra,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, ctx: ContextDep, session: SessionDep, me: CurrentUser) -> Response:
    return _account_page(request, ctx, session, me)


@router.post("/account/api-keys", response_class=HTMLResponse, dependencies=[CsrfProtected])
def create_api_key(
    request: Request,
    ctx: ContextDep,
    session: WriteSessionDep,
    me: CurrentUser,
    name: str = Form(""),
) -> Response:
    user = session.get(User, me.user_id)
    created = accounts.create_api_key(session=session, user=user, name=name)
    session.flush()
    return _account_page(request, ctx, session, me, new_key=created.secret)


@router.post("/account/api-keys/{key_id}/revoke", dependencies=[CsrfProtected])
def revoke_api_key(key_id: int, session: WriteSessionDep, me: CurrentUser) -> Response:
    if not accounts.revoke_api_key(session=session, user_id=me.user_id, key_id=key_id):
        raise NotFound("There is no active API key with this id on your account.")
    return RedirectResponse("/account", status_code=303)


# -- the development outbox --------------------------------------------------------------


@router.get("/dev/outbox", response_class=HTMLResponse)
def outbox(
    request: Request, ctx: ContextDep, session: SessionDep, identity: IdentityDep
) -> Response:
    """Mail that would have been sent, for working offline. Never in production."""
    if not ctx.settings.local_mode or ctx.settings.smtp_host:
        raise NotFound("Not found.")
    return _page(request, ctx, "outbox.html", messages=recent_outbox(session=session))
