"""The application factory. Nothing is built at import time."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bugfixer import __version__, migrate
from bugfixer.billing.plans import DEFAULT_PLANS
from bugfixer.config import Settings, load_settings
from bugfixer.db import BlockingRunner, make_engine, make_session_factory
from bugfixer.deps import AppContext
from bugfixer.fixing.providers import Provider, build_provider
from bugfixer.fixing.render import explanation_html, highlight, highlight_diff
from bugfixer.fixing.routes import api as fixing_api
from bugfixer.fixing.routes import pages as fixing_pages
from bugfixer.fixing.service import Fixer
from bugfixer.metering.identity import VisitorCookies
from bugfixer.web import errors
from bugfixer.web.middleware import RequestIdFilter, SecurityHeaders
from bugfixer.web.routes import router as web_router

WEB_DIR = Path(__file__).parent / "web"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, provider: Provider | None = None) -> FastAPI:
    """Build the app. ``provider`` overrides the configured one (tests, embedding)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)

    engine = make_engine(settings.resolved_database_url)
    if not migrate.is_current(engine):
        migrate.upgrade(engine)
    session_factory = make_session_factory(engine)
    read_session_factory = make_session_factory(engine, read_only=True)
    run_blocking = BlockingRunner(engine)
    # Database threads hand results back to the event loop; the default 5 ms GIL switch
    # interval would add up to that much to every hand-off while the loop is busy.
    sys.setswitchinterval(0.0005)
    provider = provider or build_provider(settings)
    templates = Jinja2Templates(directory=WEB_DIR / "templates")
    templates.env.filters.update(
        highlight=highlight, highlight_diff=highlight_diff, explanation=explanation_html
    )
    templates.env.globals.update(
        free_fixes=settings.free_fixes, version=__version__, plans=DEFAULT_PLANS
    )
    ctx = AppContext(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        read_session_factory=read_session_factory,
        provider=provider,
        fixer=Fixer(
            provider=provider,
            session_factory=session_factory,
            read_session_factory=read_session_factory,
            settings=settings,
            run_blocking=run_blocking,
        ),
        cookies=VisitorCookies(settings.signing_key),
        templates=templates,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("serving with provider=%s model=%s", provider.name, provider.model)
        yield
        await provider.aclose()
        run_blocking.close()
        engine.dispose()

    app = FastAPI(
        title="Code Bug Fixer",
        version=__version__,
        description="Paste buggy code and its error; get an explanation and a verified fix.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    max_body = 4 * (settings.max_code_chars + settings.max_error_chars) + 64 * 1024
    app.add_middleware(SecurityHeaders, max_body_bytes=max_body)
    errors.install(app)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
    app.mount("/static/app", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(fixing_api)
    app.include_router(fixing_pages)
    app.include_router(web_router)
    return app


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if getattr(root, "_bugfixer_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)
    root._bugfixer_configured = True  # type: ignore[attr-defined]
