"""Pages and endpoints that belong to no single domain: pricing, health, API docs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text

from bugfixer.deps import ContextDep
from bugfixer.fixing.render import stylesheet

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(ctx: ContextDep) -> Response:
    """Liveness and database reachability, for load balancers."""
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "provider": ctx.provider.name})


@router.get("/static/pygments.css")
def pygments_css() -> Response:
    return Response(
        stylesheet(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, ctx: ContextDep) -> Response:
    """Swagger UI served from our own static files (no CDN)."""
    return ctx.templates.TemplateResponse(request, "docs.html", {})
