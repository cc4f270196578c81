"""FastAPI dependencies as Annotated aliases, so routes state what they need in one word."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bugfixer.config import Settings
from bugfixer.fixing.providers import Provider
from bugfixer.fixing.service import Fixer
from bugfixer.metering.identity import VISITOR_COOKIE, VisitorCookies


@dataclass
class AppContext:
    """Everything create_app builds once and routes share."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    provider: Provider
    fixer: Fixer
    cookies: VisitorCookies
    templates: Jinja2Templates


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


ContextDep = Annotated[AppContext, Depends(get_ctx)]


def get_settings(ctx: ContextDep) -> Settings:
    return ctx.settings


def get_fixer(ctx: ContextDep) -> Fixer:
    return ctx.fixer


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """A read-only session for pages; writes go through services with their own."""
    with ctx.read_session_factory() as session:
        yield session


def get_visitor_id(request: Request, ctx: ContextDep) -> str | None:
    """The visitor id from the signed cookie; None for a new or forged cookie."""
    return ctx.cookies.read(request.cookies.get(VISITOR_COOKIE))


SettingsDep = Annotated[Settings, Depends(get_settings)]
FixerDep = Annotated[Fixer, Depends(get_fixer)]
SessionDep = Annotated[Session, Depends(get_session)]
VisitorIdDep = Annotated[str | None, Depends(get_visitor_id)]
