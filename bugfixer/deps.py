"""FastAPI dependencies as Annotated aliases, so routes state what they need in one word."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from bugfixer.accounts import service as accounts
from bugfixer.accounts.mail import Mailer, Postman
from bugfixer.accounts.models import User
from bugfixer.analytics.views import ViewRecorder
from bugfixer.billing.gateway import StripeGateway
from bugfixer.billing.plans import Plan
from bugfixer.config import Settings
from bugfixer.db import Database
from bugfixer.errors import AppError, NotFound
from bugfixer.fixing.providers import Provider
from bugfixer.fixing.service import Fixer
from bugfixer.metering.identity import Identity, SignedCookie, fingerprint, network_key
from bugfixer.ratelimit import RateLimiter
from bugfixer.web.csrf import require_csrf
from bugfixer.web.pagecache import TokenPages


@dataclass
class AppContext:
    """Everything create_app builds once and routes share."""

    settings: Settings
    db: Database
    provider: Provider
    fixer: Fixer
    cookies: SignedCookie  # the visitor cookie
    session_cookie: SignedCookie
    templates: Jinja2Templates
    limiter: RateLimiter
    mailer: Mailer
    postman: Postman  # sends ``mailer``'s messages off the request path
    plans: tuple[Plan, ...]
    views: ViewRecorder = field(default_factory=ViewRecorder)
    pages: TokenPages = field(default_factory=TokenPages)  # the fix page without an account
    gateways: dict[str, StripeGateway] = field(default_factory=dict)


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


# Cheap dependencies are coroutines: FastAPI would run plain functions in a worker
# thread, and a thread hop per dependency costs more than the work itself.
async def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


ContextDep = Annotated[AppContext, Depends(get_ctx)]


async def get_settings(ctx: ContextDep) -> Settings:
    return ctx.settings


async def get_fixer(ctx: ContextDep) -> Fixer:
    return ctx.fixer


async def get_db(ctx: ContextDep) -> Database:
    return ctx.db


async def get_gateway(request: Request, ctx: ContextDep) -> StripeGateway:
    """Stripe itself when a key is set; otherwise the emulator mounted at /_stripe.

    The app reaches its emulator on the address the request came in on, never on the
    Host header: that one the client chooses, and it once made the app fetch a forged
    checkout from another port.
    """
    settings = ctx.settings
    if settings.stripe_secret_key is not None:
        base = ""
        key = settings.stripe_secret_key.get_secret_value()
    else:
        own = server_url(request)
        if own is None:
            raise NoOwnAddress(
                "The built-in Stripe emulator needs the app served on a TCP address; "
                "set STRIPE_SECRET_KEY to use Stripe."
            )
        base = own + "/_stripe"
        key = settings.devstripe_key
    gateway = ctx.gateways.get(base)
    if gateway is None:
        if len(ctx.gateways) >= 8:  # one per local address the server is reached on
            ctx.gateways.clear()
        gateway = ctx.gateways[base] = StripeGateway(key, api_base=base or None)
    return gateway


class NoOwnAddress(AppError):
    """Served on a Unix socket with nothing configured: no address to give out."""

    status = 503
    code = "misconfigured"


def server_url(request: Request) -> str | None:
    """This server's own address, from the socket the request came in on (not Host)."""
    server = request.scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def site_url(request: Request, settings: Settings) -> str:
    """Where links in mail point: BUGFIXER_PUBLIC_URL, or this server's own address.

    Never the Host header: a reset link built from it would carry its token to
    whichever site the requester named.
    """
    if settings.public_url:
        return settings.public_url.rstrip("/")
    own = server_url(request)
    if own is None:
        raise NoOwnAddress("Set BUGFIXER_PUBLIC_URL: emailed links need the site's address.")
    return own


def is_loopback(request: Request) -> bool:
    """The peer is this machine (after any trusted proxy's X-Forwarded-For)."""
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


async def require_loopback(request: Request) -> None:
    """Development pages that show secrets (the mail outbox) are for this machine only."""
    if not is_loopback(request):
        raise NotFound("Not found.")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_identity(request: Request, ctx: ContextDep) -> Identity:
    """Who is asking. Only an API key or a session cookie costs a database read."""
    settings = ctx.settings
    visitor_id = ctx.cookies.read(request.cookies.get(ctx.cookies.name))
    fp = None
    if settings.trial_policy == "fingerprint":
        fp = fingerprint(
            settings.signing_key,
            client_address=client_address(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    user: User | None = None
    via_api_key = False
    authorization = request.headers.get("authorization")
    if authorization is not None and request.url.path.startswith("/api/"):
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("Use the header Authorization: Bearer <your API key>.")
        holder = await ctx.db.read(accounts.user_for_api_key, secret=secret.strip())
        if holder is None:
            raise Unauthorized("This API key is not valid or has been revoked.")
        if holder.stale:
            await ctx.db.write(accounts.touch_api_key, key_id=holder.key_id)
        user, via_api_key, visitor_id = holder.user, True, None
    else:
        token = ctx.session_cookie.read(request.cookies.get(ctx.session_cookie.name))
        if token:
            user = await ctx.db.read(accounts.user_for_session, token=token)
    address = client_address(request)
    identity = Identity(
        visitor_id=visitor_id,
        user_id=user.id if user else None,
        email=user.email if user else None,
        is_admin=bool(user and (user.is_admin or _listed_and_verified(user, settings))),
        fingerprint=fp,
        via_api_key=via_api_key,
        network=None if user else network_key(settings.signing_key, client_address=address),
    )
    request.state.identity = identity
    return identity


def _listed_and_verified(user: User, settings: Settings) -> bool:
    """BUGFIXER_ADMIN_EMAILS counts only for an address its owner has confirmed: anyone
    can sign up with any address, not everyone can open the link mailed to it."""
    return user.verified_at is not None and user.email in settings.admin_email_list


async def require_user(identity: Annotated[Identity, Depends(get_identity)]) -> Identity:
    if not identity.signed_in:
        raise Unauthorized("Sign in to see this page.")
    return identity


async def require_admin(identity: Annotated[Identity, Depends(require_user)]) -> Identity:
    if not identity.is_admin:
        raise Forbidden("This page is for administrators.")
    return identity


SettingsDep = Annotated[Settings, Depends(get_settings)]
FixerDep = Annotated[Fixer, Depends(get_fixer)]
DatabaseDep = Annotated[Database, Depends(get_db)]
IdentityDep = Annotated[Identity, Depends(get_identity)]
CurrentUser = Annotated[Identity, Depends(require_user)]
AdminUser = Annotated[Identity, Depends(require_admin)]
CsrfProtected = Depends(require_csrf)
LoopbackOnly = Depends(require_loopback)
GatewayDep = Annotated[StripeGateway, Depends(get_gateway)]
