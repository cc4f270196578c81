"""The app's CSS, JavaScript and icons under content-hashed names, cached for a year.

``app.css`` is linked as ``/static/app/app.3f9c1a2b.css``: a changed file gets a new
name, so browsers may keep every name forever and never see a stale stylesheet after a
deploy. The plain names still answer (revalidated each time) for anything that links
them directly. The files are small and read once, at start-up.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=0, must-revalidate"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    cache_control: str


class Assets:
    """An ASGI app serving a folder's files (plus generated ones) by plain or hashed name."""

    def __init__(
        self, directory: Path, *, prefix: str, generated: dict[str, str] | None = None
    ) -> None:
        self.prefix = prefix.rstrip("/")
        sources = {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
        sources.update({name: text.encode() for name, text in (generated or {}).items()})
        self._files: dict[str, Asset] = {}
        self._urls: dict[str, str] = {}
        for name, body in sources.items():
            digest = hashlib.sha256(body).hexdigest()[:12]
            path = Path(name)
            hashed = f"{path.stem}.{digest}{path.suffix}"
            media = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "text/plain"
            if media.startswith("text/") or media.endswith("+xml"):
                media += "; charset=utf-8"
            etag = f'"{digest}"'
            self._files[name] = Asset(body, media, etag, REVALIDATE)
            self._files[hashed] = Asset(body, media, etag, IMMUTABLE)
            self._urls[name] = f"{self.prefix}/{hashed}"

    def url(self, name: str) -> str:
        """The hashed URL of ``name``; a missing file is a bug in a template, so it raises."""
        return self._urls[name]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"].removeprefix(scope.get("root_path", "")).lstrip("/")
        name = name.removeprefix(self.prefix.lstrip("/")).lstrip("/")
        asset = self._files.get(name)
        if scope["method"] not in ("GET", "HEAD"):
            status, body, headers = 405, b"Method Not Allowed", [(b"allow", b"GET, HEAD")]
        elif asset is None:
            status, body, headers = 404, b"Not Found", []
        else:
            headers = [
                (b"content-type", asset.media_type.encode()),
                (b"cache-control", asset.cache_control.encode()),
                (b"etag", asset.etag.encode()),
            ]
            request_headers = dict(scope["headers"])
            if request_headers.get(b"if-none-match", b"").decode("latin-1") == asset.etag:
                status, body = 304, b""
            else:
                status, body = 200, asset.body
        if status >= 400:
            headers.append((b"content-type", b"text/plain; charset=utf-8"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
