"""The fix endpoints: the JSON API, the no-JavaScript form, the streaming form, history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from bugfixer.analytics import events
from bugfixer.analytics.events import record_event
from bugfixer.deps import (
    AppContext,
    ContextDep,
    CsrfProtected,
    IdentityDep,
    client_address,
    get_identity,
)
from bugfixer.errors import AppError, NotFound, QuotaExhaustedError
from bugfixer.fixing import service
from bugfixer.fixing.languages import offered_languages
from bugfixer.fixing.schemas import ErrorResponse, FixRequest, FixResult
from bugfixer.fixing.service import Delta, Finished, FixInput, Retrying
from bugfixer.metering.identity import Identity
from bugfixer.metering.service import Reservation
from bugfixer.web.errors import error_response
from bugfixer.web.pageviews import note_views


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


async def require_json(request: Request) -> None:
    """Only JSON: a cross-site HTML form cannot send it, so cookies are safe to honour."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(
            "Send the request body as JSON (Content-Type: application/json)."
        )


api = APIRouter(prefix="/api/v1", tags=["fixes"])
pages = APIRouter(include_in_schema=False)

_ERRORS = {
    400: {"model": ErrorResponse, "description": "invalid_encoding: the body is not UTF-8"},
    401: {"model": ErrorResponse, "description": "unauthorized: a wrong or revoked API key"},
    402: {"model": ErrorResponse, "description": "quota_exhausted (with pricing_url)"},
    413: {"model": ErrorResponse, "description": "input_too_large: names the limit"},
    415: {"model": ErrorResponse, "description": "unsupported_media_type: send JSON"},
    422: {"model": ErrorResponse, "description": "invalid_input or invalid_json"},
    429: {"model": ErrorResponse, "description": "rate_limited (with Retry-After)"},
    503: {"model": ErrorResponse, "description": "provider_unavailable: nothing was charged"},
}


_EVENTS = {
    "description": (
        "With `Accept: text/event-stream`: Server-Sent Events. `delta` `{text}` as the "
        "explanation is written, `retry` `{message}` when an answer failed verification, "
        "then `result` (the FixResult) or `error` `{error, message}`. The fixed code comes "
        "only with `result`, once the fix is settled."
    ),
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@api.post(
    "/fixes",
    response_model=FixResult,
    responses={**_ERRORS, 200: _EVENTS},
    dependencies=[Depends(require_json)],
)
async def create_fix(
    body: FixRequest, request: Request, ctx: ContextDep, identity: IdentityDep
) -> Response:
    """Explain and fix a piece of code. Uses one free fix unless the plan is unlimited.

    Authenticate with `Authorization: Bearer <API key>` to use your account, or keep
    the `bf_visitor` cookie between calls. Send `Accept: text/event-stream` to receive
    the explanation as it is written (Server-Sent Events), then the result.
    """
    fix_input = service.validate_input(
        code=body.code,
        error=body.error,
        language=body.language,
        test=body.test,
        settings=ctx.settings,
    )
    reservation = await _reserve(ctx, request, identity)
    if "text/event-stream" in request.headers.get("accept", ""):
        response: Response = _event_stream(_events(ctx, reservation, fix_input, html=False))
    else:
        result = await ctx.fixer.run(reservation=reservation, fix_input=fix_input)
        response = Response(result.model_dump_json(), media_type="application/json")
    _remember_visitor(ctx, request, response, reservation, identity)
    return response


async def index(request: Request) -> Response:
    """The fix page, the busiest one: a plain Starlette endpoint, calling what the
    dependencies would, since FastAPI's solving of them cost more than the page."""
    ctx: AppContext = request.app.state.ctx
    identity = await get_identity(request, ctx)
    usage = await ctx.fixer.usage(identity)
    if identity.signed_in:
        response = _render_form(request, ctx, usage)
    else:
        # Without an account the page shows nothing of the visitor's but the count.
        response = ctx.pages.response(request, usage, lambda r: _render_form(r, ctx, usage))
    note_views(ctx, request, response, identity, (events.PAGE_VIEW, None))
    return response


pages.add_route("/", index, methods=["GET"], include_in_schema=False)


@pages.post("/", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def submit_form(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    """The form without JavaScript: the whole page comes back with the result."""
    values = await _form_values(request)
    try:
        fix_input = service.validate_input(**values, settings=ctx.settings)
        reservation = await _reserve(ctx, request, identity)
        result = await ctx.fixer.run(reservation=reservation, fix_input=fix_input)
    except AppError as exc:
        if exc.code == "quota_exhausted":
            return error_response(request, exc)
        usage = await ctx.fixer.usage(identity)
        return _render_form(request, ctx, usage, form=values, error=exc)
    response = _render_form(request, ctx, result.usage, form=values, result=result)
    _remember_visitor(ctx, request, response, reservation, identity)
    return response


@pages.post("/fix/stream", dependencies=[CsrfProtected])
async def stream_form(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    """The form with JavaScript: Server-Sent Events, the explanation as it is written."""
    values = await _form_values(request)
    fix_input = service.validate_input(**values, settings=ctx.settings)
    reservation = await _reserve(ctx, request, identity)
    response = _event_stream(_events(ctx, reservation, fix_input, html=True))
    _remember_visitor(ctx, request, response, reservation, identity)
    return response


def _event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    ctx: ContextDep, reservation: Reservation, fix_input: FixInput, *, html: bool
) -> AsyncIterator[str]:
    """The fix as Server-Sent Events; ``html`` adds the page's rendering of the result."""
    try:
        async for event in ctx.fixer.stream(reservation=reservation, fix_input=fix_input):
            if isinstance(event, Delta):
                yield _sse("delta", {"text": event.text})
            elif isinstance(event, Retrying):
                yield _sse("retry", {"message": event.message})
            elif isinstance(event, Finished):
                result = event.result.model_dump(mode="json")
                if html:
                    result["html"] = ctx.templates.get_template("_result.html").render(
                        result=event.result, original=fix_input.code
                    )
                yield _sse("result", result)
    except AppError as exc:
        yield _sse("error", {"error": exc.code, "message": exc.message})


@pages.get("/fixes", response_class=HTMLResponse)
async def history(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    fixes = await ctx.db.read(service.list_fixes, identity=identity)
    return ctx.templates.TemplateResponse(
        request, "history.html", {"fixes": fixes, "usage": await ctx.fixer.usage(identity)}
    )


@pages.get("/fixes/{fix_id}", response_class=HTMLResponse)
async def show_fix(
    fix_id: str, request: Request, ctx: ContextDep, identity: IdentityDep
) -> Response:
    fix = await ctx.db.read(service.get_fix, fix_id=fix_id, identity=identity)
    if fix is None:
        raise NotFound("There is no saved fix here, or it belongs to someone else.")
    usage = await ctx.fixer.usage(identity)
    result = service.to_result(fix, usage)
    return ctx.templates.TemplateResponse(
        request, "fix.html", {"fix": fix, "result": result, "usage": usage}
    )


async def _reserve(ctx: ContextDep, request: Request, identity: Identity) -> Reservation:
    who = (
        f"user:{identity.user_id}"
        if identity.user_id is not None
        else f"browser:{identity.fingerprint or identity.visitor_id or client_address(request)}"
    )
    await ctx.limiter.hit("fix_ip", client_address(request))
    await ctx.limiter.hit("fix", who)
    try:
        return await ctx.fixer.reserve(identity=identity)
    except QuotaExhaustedError:
        # The refused reservation rolled back; the paywall it shows is its own fact.
        await ctx.db.write(
            record_event,
            kind=events.PAYWALL_SHOWN,
            visitor_id=identity.visitor_id,
            user_id=identity.user_id,
            properties={"via": "402"},
        )
        raise


async def _form_values(request: Request) -> dict[str, object]:
    form = await request.form()
    return {k: form.get(k) for k in ("code", "error", "language", "test")}


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
            "languages": offered_languages(ctx.provider.languages),
            "builtin_engine": ctx.provider.name == "builtin",
            "limits": ctx.settings,
        },
        status_code=error.status if error else 200,
    )


def _remember_visitor(
    ctx: ContextDep,
    request: Request,
    response: Response,
    reservation: Reservation,
    identity: Identity,
) -> None:
    if reservation.visitor_id and reservation.visitor_id != identity.visitor_id:
        ctx.cookies.set_on(response, reservation.visitor_id, secure=request.url.scheme == "https")


def _sse(event: str, data: dict[str, object]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"
