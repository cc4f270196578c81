"""One error path for the whole app: HTML for browsers, JSON for API clients."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bugfixer.errors import AppError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "input_too_large",
    429: "rate_limited",
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/stripe/", "/metrics")):
        return True
    accept = request.headers.get("accept", "")
    if "text/event-stream" in accept:
        return True
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, exc: AppError) -> Response:
    headers = dict(exc.headers)
    if wants_json(request):
        body = {"error": exc.code, "message": exc.message, **exc.extra}
        return JSONResponse(body, status_code=exc.status, headers=headers)
    if exc.status == 401:
        # A page that needs an account: sign in first, then come back.
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    templates = request.app.state.ctx.templates
    name = "pricing.html" if exc.code == "quota_exhausted" else "error.html"
    context: dict[str, object] = {"error": exc}
    if "usage" in exc.extra:
        context["usage"] = exc.extra["usage"]
    return templates.TemplateResponse(
        request, name, context, status_code=exc.status, headers=headers
    )


def _describe_validation(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return "invalid_json", "The request body is not valid JSON."
    parts = []
    for e in errors[:5]:
        field = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{field}: {e.get('msg', 'invalid')}")
    return "invalid_input", "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        code, message = _describe_validation(exc)
        return error_response(request, AppError(message, code=code, status=422))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's "error parsing the body", when the bytes were not UTF-8.
            bad = AppError("The request body is not valid UTF-8.", code="invalid_encoding")
            return error_response(request, bad)
        code = _HTTP_CODES.get(exc.status_code, "error")
        err = AppError(str(exc.detail), code=code, status=exc.status_code)
        err.headers.update(exc.headers or {})
        return error_response(request, err)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = AppError(
            "Something went wrong on our side; nothing was charged. Please try again.",
            code="internal_error",
            status=500,
        )
        return error_response(request, err)
