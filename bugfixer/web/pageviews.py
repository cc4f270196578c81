"""Counting views of pages (the fix page, pricing) for the dashboard, off the hot path."""

from __future__ import annotations

from fastapi import Request, Response

from bugfixer.deps import AppContext
from bugfixer.metering.identity import Identity
from bugfixer.metering.service import new_visitor_id


def note_views(
    ctx: AppContext,
    request: Request,
    response: Response,
    identity: Identity,
    *views: tuple[str, dict[str, object] | None],
) -> None:
    """Count views of a page (kind, properties), giving a new browser its visitor id now.

    The id is the one its first fix will use, so the dashboard can follow a browser from
    its first view to its payment. No database write happens here (``analytics.views``
    batches them).
    """
    visitor_id = identity.visitor_id
    if visitor_id is None:
        visitor_id = new_visitor_id()
        ctx.cookies.set_on(response, visitor_id, secure=request.scope.get("scheme") == "https")
    for kind, properties in views:
        ctx.views.view(
            kind,
            visitor_id=visitor_id,
            user_id=identity.user_id,
            had_cookie=identity.visitor_id is not None,
            fingerprint=identity.fingerprint,
            properties=properties,
        )
