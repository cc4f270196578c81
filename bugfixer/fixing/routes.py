"""The fix endpoints: the JSON API, the no-JavaScript form, the streaming form, history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from bugfixer.deps import ContextDep, SessionDep, VisitorIdDep
from bugfixer.errors import AppError, NotFound
from bugfixer.fixing import service
from bugfixer.fixing.languages import LANGUAGES
from bugfixer.fixing.schemas import ErrorResponse, FixRequest, FixResult
from bugfixer.fixing.service import Delta, Finished, Retrying
from bugfixer.metering.service import Reservation
from bugfixer.web.errors import error_response

api = APIRouter(prefix="/api/v1", tags=["fixes"])
pages = APIRouter(include_in_schema=False)

_ERRORS = {
    402: {"model": ErrorResponse, "description": "quota_exhausted (with pricing_url)"},
    413: {"model": ErrorResponse, "description": "input_too_large: names the limit"},
    422: {"model": ErrorResponse, "description": "invalid_input or invalid_json"},
    503: {"model": ErrorResponse, "description": "provider_unavailable: nothing was charged"},
}


@api.post("/fixes", response_model=FixResult, responses=_ERRORS)
async def create_fix(
    body: FixRequest, request: Request, ctx: ContextDep, visitor_id: VisitorIdDep
) -> Response:
    """Explain and fix a piece of code. Uses one free fix unless the plan is unlimited."""
    fix_input = service.validate_input(
        code=body.code, error=body.error, language=body.language, settings=ctx.settings
    )
    reservation = await ctx.fixer.reserve(visitor_id=visitor_id)
    result = await ctx.fixer.run(reservation=reservation, fix_input=fix_input)
    response = Response(result.model_dump_json(), media_type="application/json")
    _remember_visitor(ctx, request, response, reservation, visitor_id)
    return response


@pages.get("/", response_class=HTMLResponse)
def index(request: Request, ctx: ContextDep, visitor_id: VisitorIdDep) -> Response:
    return _render_form(request, ctx, ctx.fixer.usage(visitor_id))


@pages.post("/", response_class=HTMLResponse)
async def submit_form(request: Request, ctx: ContextDep, visitor_id: VisitorIdDep) -> Response:
    """The form without JavaScript: the whole page comes back with the result."""
    form = await request.form()
    values = {k: form.get(k) for k in ("code", "error", "language")}
    try:
        fix_input = service.validate_input(**values, settings=ctx.settings)
        reservation = await ctx.fixer.reserve(visitor_id=visitor_id)
        result = await ctx.fixer.run(reservation=reservation, fix_input=fix_input)
    except AppError as exc:
        if exc.code == "quota_exhausted":
            return error_response(request, exc)
        usage = await run_in_threadpool(ctx.fixer.usage, visitor_id)
        return _render_form(request, ctx, usage, form=values, error=exc)
    response = _render_form(request, ctx, result.usage, form=values, result=result)
    _remember_visitor(ctx, request, response, reservation, visitor_id)
    return response


@pages.post("/fix/stream")
async def stream_form(request: Request, ctx: ContextDep, visitor_id: VisitorIdDep) -> Response:
    """The form with JavaScript: Server-Sent Events, the explanation as it is written."""
    form = await request.form()
    values = {k: form.get(k) for k in ("code", "error", "language")}
    fix_input = service.validate_input(**values, settings=ctx.settings)
    reservation = await ctx.fixer.reserve(visitor_id=visitor_id)

    async def events() -> AsyncIterator[str]:
        try:
            async for event in ctx.fixer.stream(reservation=reservation, fix_input=fix_input):
                if isinstance(event, Delta):
                    yield _sse("delta", {"text": event.text})
                elif isinstance(event, Retrying):
                    yield _sse("retry", {"message": event.message})
                elif isinstance(event, Finished):
                    html = ctx.templates.get_template("_result.html").render(
                        result=event.result, languages=LANGUAGES
                    )
                    payload = event.result.model_dump(mode="json")
                    yield _sse("result", {**payload, "html": html})
        except AppError as exc:
            yield _sse("error", {"error": exc.code, "message": exc.message})

    response = StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    _remember_visitor(ctx, request, response, reservation, visitor_id)
    return response


@pages.get("/fixes", response_class=HTMLResponse)
def history(
    request: Request, session: SessionDep, ctx: ContextDep, visitor_id: VisitorIdDep
) -> Response:
    fixes = service.list_fixes(session=session, visitor_id=visitor_id)
    return ctx.templates.TemplateResponse(
        request, "history.html", {"fixes": fixes, "usage": ctx.fixer.usage(visitor_id)}
    )


@pages.get("/fixes/{fix_id}", response_class=HTMLResponse)
def show_fix(
    fix_id: str,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    visitor_id: VisitorIdDep,
) -> Response:
    fix = service.get_fix(session=session, fix_id=fix_id, visitor_id=visitor_id)
    if fix is None:
        raise NotFound("There is no saved fix here, or it belongs to someone else.")
    usage = ctx.fixer.usage(visitor_id)
    result = service.to_result(fix, usage)
    return ctx.templates.TemplateResponse(
        request, "fix.html", {"fix": fix, "result": result, "usage": usage}
    )


def _render_form(
    request: Request,
    ctx: ContextDep,
    usage: object,
    *,
    form: dict[str, object] | None = None,
    result: object = None,
    error: AppError | None = None,
) -> Response:
    return ctx.templates.TemplateResponse(
        request,
        "index.html",
        {
            "form": form or {},
            "result": result,
            "error": error,
            "usage": usage,
            "languages": LANGUAGES,
            "limits": ctx.settings,
        },
        status_code=error.status if error else 200,
    )


def _remember_visitor(
    ctx: ContextDep,
    request: Request,
    response: Response,
    reservation: Reservation,
    visitor_id: str | None,
) -> None:
    if reservation.visitor_id != visitor_id:
        ctx.cookies.set_on(response, reservation.visitor_id, secure=request.url.scheme == "https")


def _sse(event: str, data: dict[str, object]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"
