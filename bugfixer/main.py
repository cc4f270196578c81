"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import fastapi_offline
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bugfixer import __version__, devstripe, migrate
from bugfixer.accounts.mail import (
    Email,
    Mailer,
    OutboxMailer,
    Postman,
    SmtpConfig,
    SmtpMailer,
    store_in_outbox,
)
from bugfixer.accounts.routes import router as accounts_router
from bugfixer.admin.routes import api as admin_api
from bugfixer.admin.routes import router as admin_router
from bugfixer.admin.user_routes import router as admin_users_router
from bugfixer.billing.plans import plan_catalog, plan_offers
from bugfixer.billing.routes import router as billing_router
from bugfixer.config import Settings, SettingsError, load_settings
from bugfixer.db import Database
from bugfixer.deps import AppContext
from bugfixer.fixing.providers import Provider, build_provider
from bugfixer.fixing.render import (
    diff_view,
    explanation_html,
    highlight,
    stylesheet,
    verification_summary,
)
from bugfixer.fixing.routes import api as fixing_api
from bugfixer.fixing.routes import pages as fixing_pages
from bugfixer.fixing.schemas import document_limits
from bugfixer.fixing.service import Fixer
from bugfixer.metering.identity import (
    SESSION_COOKIE,
    SESSION_COOKIE_MAX_AGE,
    VISITOR_COOKIE,
    VISITOR_COOKIE_MAX_AGE,
    SignedCookie,
)
from bugfixer.metering.service import expire_pending
from bugfixer.observability.http import RequestObserver
from bugfixer.observability.logs import configure_logging
from bugfixer.observability.routes import router as observability_router
from bugfixer.ratelimit import RateLimiter
from bugfixer.sandbox import Sandbox
from bugfixer.web import errors, openapi
from bugfixer.web.assets import Assets
from bugfixer.web.csrf import CsrfCookie
from bugfixer.web.formats import FILTERS
from bugfixer.web.legal import PAGES, load_legal_pages
from bugfixer.web.limits import (
    DEVSTRIPE_MAX_BYTES,
    FORM_MAX_BYTES,
    WEBHOOK_MAX_BYTES,
    BodyLimits,
    LimitBody,
)
from bugfixer.web.middleware import STRIPE_FORM_TARGETS, SecurityHeaders
from bugfixer.web.routes import router as web_router

WEB_DIR = Path(__file__).parent / "web"
log = logging.getLogger(__name__)


class CachedStaticFiles(StaticFiles):
    """Swagger UI's files: linked with ?v=<package version>, so a week's cache is safe."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=604800"
        return response


def create_app(settings: Settings | None = None, *, provider: Provider | None = None) -> FastAPI:
    """Build the app. ``provider`` overrides the configured one (tests, embedding)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)

    db = Database.from_url(settings.resolved_database_url)
    # Otherwise migrations are a separate step and /readyz says 503 until it has run.
    if settings.migrate_on_start and not migrate.is_current(db.engine):
        migrate.upgrade(db.engine)
    # Database threads hand results back to the event loop; the default 5 ms GIL switch
    # interval would add up to that much to every hand-off while the loop is busy.
    sys.setswitchinterval(0.0005)
    sandbox = Sandbox.from_settings(settings)
    provider = provider or build_provider(settings, sandbox=sandbox)
    templates = Jinja2Templates(directory=WEB_DIR / "templates")
    # Templates change only with the code, except while developing.
    templates.env.auto_reload = settings.env == "development"
    templates.env.filters.update(FILTERS, highlight=highlight, prose=explanation_html)
    plans = plan_catalog(settings)
    assets = Assets(
        WEB_DIR / "static", prefix="/static/app", generated={"pygments.css": stylesheet()}
    )
    legal_pages = load_legal_pages(settings)
    templates.env.globals.update(
        free_fixes=settings.free_fixes,
        version=__version__,
        plans=plans,
        plan_offers=plan_offers(plans),
        test_mode=settings.stripe_emulated
        or settings.stripe_secret_key.get_secret_value().startswith("sk_test_"),
        static=assets.url,
        swagger_version=importlib.metadata.version("fastapi-offline"),
        contact_email=settings.contact_email,
        local_mode=settings.local_mode,
        dev_outbox=settings.local_mode and not settings.smtp_host,
        legal_links=[(slug, title) for slug, title, *_ in PAGES],
        diff_view=diff_view,
        verification_summary=verification_summary,
    )
    mailer = build_mailer(settings, db)
    ctx = AppContext(
        settings=settings,
        db=db,
        provider=provider,
        fixer=Fixer(provider=provider, db=db, settings=settings, sandbox=sandbox),
        cookies=SignedCookie(
            settings.signing_key, name=VISITOR_COOKIE, max_age=VISITOR_COOKIE_MAX_AGE
        ),
        session_cookie=SignedCookie(
            settings.signing_key, name=SESSION_COOKIE, max_age=SESSION_COOKIE_MAX_AGE
        ),
        templates=templates,
        limiter=build_limiter(settings),
        mailer=mailer,
        postman=Postman(mailer),
        plans=plans,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("serving with provider=%s model=%s", provider.name, provider.model)
        sweeper = asyncio.create_task(_give_back_expired_reservations(db))
        view_writer = asyncio.create_task(ctx.views.run(db))
        yield
        # Fixes stopped by the shutdown give their free fix back before the database goes.
        await ctx.fixer.drain(timeout_s=10)
        await ctx.postman.drain()
        for task in (sweeper, view_writer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await provider.aclose()
        await ctx.limiter.aclose()
        await asyncio.to_thread(db.close)

    app = FastAPI(
        title="Code Bug Fixer",
        version=__version__,
        description="Paste buggy code and its error; get an explanation and a verified fix.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Metrics are Prometheus' (observability/); FastAPI's own OpenTelemetry hooks
        # would look for providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    app.state.assets = assets
    app.state.legal_pages = legal_pages
    openapi.install(app)
    document_limits(app, settings)
    app.add_middleware(LimitBody, limits=body_limits(settings))
    app.add_middleware(CsrfCookie, secret=settings.signing_key)
    app.add_middleware(
        SecurityHeaders,
        form_targets=() if settings.stripe_emulated else STRIPE_FORM_TARGETS,
    )
    if settings.trusted_proxy_list:
        # Believe X-Forwarded-For/-Proto only from these peers (client address, https).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    app.add_middleware(
        RequestObserver, hash_key=settings.signing_key, server_timing=settings.server_timing
    )
    errors.install(app)
    # Swagger UI 5 (OpenAPI 3.1) as packaged by fastapi-offline: served here, no CDN.
    swagger_dir = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/static/swagger", CachedStaticFiles(directory=swagger_dir))
    app.mount("/static/app", assets)
    app.include_router(fixing_api)
    app.include_router(fixing_pages)
    app.include_router(web_router)
    app.include_router(observability_router)
    app.include_router(accounts_router)
    app.include_router(billing_router)
    if settings.stripe_emulated:
        webhook_url = (
            f"{settings.public_url.rstrip('/')}/stripe/webhook" if settings.public_url else None
        )
        app.mount(
            "/_stripe",
            devstripe.create_app(
                db_path=settings.instance_dir / "devstripe.sqlite3",
                webhook_secret=settings.webhook_secret,
                api_key=settings.devstripe_key,
                webhook_url=webhook_url,
            ),
        )
    app.include_router(admin_api)
    app.include_router(admin_router)
    app.include_router(admin_users_router)
    return app


def body_limits(settings: Settings) -> BodyLimits:
    """Each route's largest request body; every other request gets a small form's."""
    fix = settings.max_fix_body_bytes
    note = (
        f"Code may be up to {settings.max_code_chars:,} characters, the error up to "
        f"{settings.max_error_chars:,} and the test up to {settings.max_test_chars:,}."
    )
    return BodyLimits(
        default=FORM_MAX_BYTES,
        notes={path: note for path in ("/", "/fix/stream", "/api/v1/fixes")},
        exact={
            "/": fix,
            "/fix/stream": fix,
            "/api/v1/fixes": fix,
            "/stripe/webhook": WEBHOOK_MAX_BYTES,
        },
        prefixes=(("/_stripe/", DEVSTRIPE_MAX_BYTES),),
    )


RATE_LIMIT_SETTINGS = {
    "login": "rate_limit_login",
    "login_email": "rate_limit_login_email",
    "confirm": "rate_limit_confirm",
    "signup": "rate_limit_signup",
    "reset": "rate_limit_reset",
    "fix": "rate_limit_fix",
    "fix_ip": "rate_limit_fix_ip",
}


def build_limiter(settings: Settings) -> RateLimiter:
    try:
        limiter = RateLimiter(
            {rule: getattr(settings, name) for rule, name in RATE_LIMIT_SETTINGS.items()},
            storage=settings.rate_limit_storage,
        )
    except ValueError as exc:
        names = ", ".join(f"BUGFIXER_{n.upper()}" for n in RATE_LIMIT_SETTINGS.values())
        raise SettingsError(f"invalid rate limit ({names}): {exc}") from None
    if not limiter.shared and urlsplit(settings.resolved_database_url).scheme.startswith(
        "postgresql"
    ):
        warn_unshared_limits("the database is PostgreSQL, so several processes may serve it")
    return limiter


def warn_unshared_limits(why: str) -> None:
    log.warning(
        "rate limits are counted in each process (BUGFIXER_RATE_LIMIT_STORAGE=memory://) but "
        "%s: every process allows the full limit. Set BUGFIXER_RATE_LIMIT_STORAGE="
        "redis://host:port/0 to share them.",
        why,
    )


async def _give_back_expired_reservations(db: Database, every_s: float = 60.0) -> None:
    """Free fixes held by requests that never finished (a killed worker) are given back."""
    while True:
        try:
            if given_back := await db.write(expire_pending):
                log.info("gave back %d expired free-fix reservations", given_back)
        except Exception:
            log.exception("could not expire free-fix reservations")
        await asyncio.sleep(every_s)


def build_mailer(settings: Settings, db: Database) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
                sender=settings.smtp_sender,
                starttls=settings.smtp_starttls,
            )
        )

    def store(email: Email) -> None:
        db.write_now(store_in_outbox, email=email)

    return OutboxMailer(store)
