"""Pages and endpoints that belong to no single domain: API docs, legal pages, the icon."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bugfixer.deps import ContextDep, IdentityDep
from bugfixer.web.legal import PAGES

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon(request: Request) -> Response:
    """Browsers ask for this path whatever the page links; send them to the real icon."""
    url = request.app.state.assets.url("favicon.svg")
    return RedirectResponse(
        url, status_code=301, headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
    """Swagger UI served from our own static files (no CDN), inside the site's layout."""
    return ctx.templates.TemplateResponse(request, "docs.html", {})


def _legal_page(slug: str):  # type: ignore[no-untyped-def]
    async def show(request: Request, ctx: ContextDep, identity: IdentityDep) -> Response:
        page = request.app.state.legal_pages[slug]
        return ctx.templates.TemplateResponse(request, "legal.html", {"page": page})

    show.__doc__ = f"The {slug} page, in the operator's words (see web/legal.py)."
    return show


for _slug, _title, _setting, _default in PAGES:
    router.add_api_route(
        f"/{_slug}", _legal_page(_slug), methods=["GET"], response_class=HTMLResponse
    )
