"""One pure ASGI layer around every request: its id, Server-Timing, metrics, access log.

It runs on every request, so it does the least it can: no Request object, headers
appended raw, metric children cached, the route read from the scope the router filled.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bugfixer import timing
from bugfixer.observability import metrics
from bugfixer.observability.logs import request_fields, request_id_var

access_log = logging.getLogger("bugfixer.access")

UNMATCHED = "unmatched"
# Ids a load balancer or client may send (UUIDs, ULIDs, hex); anything else is replaced.
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def route_label(scope: Scope, root_path: str) -> str:
    """The template of the route that answered (``/fixes/{fix_id}``), never the raw path."""
    route = scope.get("route")
    # Inside a mount, root_path has grown by the mount's prefix.
    prefix = scope.get("root_path", "")[len(root_path) :]
    if isinstance(route, Mount) or (route is None and prefix):
        return f"{prefix}/{{path}}"  # a mounted app without routes of its own (static files)
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    return prefix + path


class RequestObserver:
    """Gives each request an id (keeping a valid incoming X-Request-ID) and records it."""

    def __init__(self, app: ASGIApp, *, hash_key: str, server_timing: bool = False) -> None:
        self.app = app
        # Server-Timing tells anyone how long the server took (and so, for example,
        # whether a password-reset address has an account): only when asked for.
        self.server_timing = server_timing
        # Visitor and account ids reach the logs only as keyed hashes.
        self._hash_key = hashlib.sha256(b"bugfixer.logs" + hash_key.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                if _VALID_ID.fullmatch(incoming):
                    rid = incoming
                break
        if rid is None:
            rid = secrets.token_hex(8)
        rid_token = request_id_var.set(rid)
        fields: dict[str, Any] = {}
        fields_token = request_fields.set(fields)
        timings = timing.begin()
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", rid.encode()))
                if self.server_timing:
                    headers.append((b"server-timing", timing.header(elapsed_ms).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            route = route_label(scope, root_path)
            metrics.record_http(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                self._log(scope, route, status, seconds, fields)
            timing.end(timings)
            request_fields.reset(fields_token)
            request_id_var.reset(rid_token)

    def _log(
        self, scope: Scope, route: str, status: int, seconds: float, fields: dict[str, Any]
    ) -> None:
        identity = scope.get("state", {}).get("identity")
        prompt, completion = fields.get("prompt_tokens"), fields.get("completion_tokens")
        line = {
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "visitor": self._hash("visitor", getattr(identity, "visitor_id", None)),
            "account": self._hash("account", getattr(identity, "user_id", None)),
            "provider": fields.get("provider"),
            "model": fields.get("model"),
            "tokens": None if prompt is None else prompt + (completion or 0),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
        }
        line.update((k, v) for k, v in fields.items() if k not in line)
        ms = seconds * 1000
        access_log.info(
            "%s %s %d %.1fms", line["method"], route, status, ms, extra={"fields": line}
        )

    def _hash(self, kind: str, value: object) -> str | None:
        if value is None:
            return None
        digest = hashlib.blake2b(f"{kind}:{value}".encode(), key=self._hash_key[:32], digest_size=8)
        return digest.hexdigest()
