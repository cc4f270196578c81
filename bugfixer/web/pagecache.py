"""Pages that differ from one visitor to the next only by the CSRF token in their forms.

The fix page, as every visitor without an account first sees it, is the same HTML for
all of them but for the token and the count of free fixes left. It is rendered once per
such count with a marker where the token goes, and each request joins the parts around
its own token: no template runs on the busiest page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

MAX_PAGES = 64


class TokenPages:
    """Rendered pages by key, each kept as the parts around its CSRF token."""

    def __init__(self, *, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        # Random, so no page can contain it by chance; URL-safe, so escaping leaves it be.
        self._marker = secrets.token_urlsafe(24)
        self._pages: dict[Hashable, tuple[int, list[bytes]]] = {}

    def response(
        self, request: Request, key: Hashable, render: Callable[[Request], Response]
    ) -> Response:
        """The page for ``key`` with this request's token; ``render`` makes it the first time.

        ``key`` must hold everything ``render`` shows besides the token.
        """
        token = request.scope.get("state", {}).get("csrf_token")
        if token is None:
            return render(request)
        key = (request.scope["path"], key)
        page = self._pages.get(key)
        if page is None:
            state = {**request.scope["state"], "csrf_token": self._marker}
            rendered = render(Request({**request.scope, "state": state}, request.receive))
            if len(self._pages) >= self.max_pages:
                self._pages.clear()
            page = self._pages[key] = (
                rendered.status_code,
                rendered.body.split(self._marker.encode()),
            )
        status, parts = page
        return HTMLResponse(token.encode().join(parts), status_code=status)
