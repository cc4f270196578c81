"""Pages and endpoints that belong to no single domain: the code stylesheet, API docs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bugfixer.deps import ContextDep
from bugfixer.fixing.render import stylesheet

router = APIRouter(include_in_schema=False)


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
