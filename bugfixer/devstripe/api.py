"""HTTP plumbing for ``/v1``: API keys, parameters, idempotency, errors, expansion."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import billing_api, catalog, checkout  # noqa: F401  (they register their routes)
from .emulator import Emulator, is_loopback
from .params import StripeError, parse_params
from .routing import ROUTES, Handler, expand
from .store import new_id

logger = logging.getLogger(__name__)

_METHODS = ("GET", "POST", "DELETE")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, indent=2),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def api_key_error(request: Request, api_key: str) -> StripeError | None:
    """Accept exactly ``api_key``, sent as a Bearer token or as the Basic user name."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials).decode().partition(":")[0]
        except ValueError:
            key = ""
    if not key:
        return StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        # The key is never echoed back, not even in part.
        return StripeError(
            401, "Invalid API Key provided. devstripe accepts only this instance's own key."
        )
    return None


def local_only_error(request: Request) -> StripeError | None:
    """The API and the test controls are for this machine's processes only."""
    if is_loopback(request):
        return None
    return StripeError(
        403,
        "devstripe's API and test controls answer only on this machine (loopback). "
        "The hosted checkout and portal pages are open to any browser.",
    )


def _endpoint(
    emulator: Emulator, method: str, handler: Handler
) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        return await emulator.run(_serve, emulator, request, body, method, handler)

    return endpoint


def _serve(
    emulator: Emulator, request: Request, body: bytes, method: str, handler: Handler
) -> Response:
    request_id = new_id("req_", 14)
    headers = {"Request-Id": request_id}
    if version := request.headers.get("stripe-version"):
        headers["Stripe-Version"] = version
    error = local_only_error(request) or api_key_error(request, emulator.api_key)
    if error is not None:
        return json_response(error.status, error.body(), headers)
    emulator.observe(request)
    params = parse_params(request.url.query)
    if method == "POST":
        params.update(parse_params(body.decode("utf-8", errors="replace")))
    key = request.headers.get("idempotency-key") if method == "POST" else None
    fingerprint = hashlib.sha256(f"{method} {request.url.path}\n".encode() + body).hexdigest()
    if key:
        headers["Idempotency-Key"] = key
    try:
        with emulator.transaction(request) as tx:
            tx.request_id, tx.idempotency_key = request_id, key
            if key and (saved := tx.idempotent_response(key)) is not None:
                saved_fingerprint, status, text = saved
                if saved_fingerprint != fingerprint:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                headers["Idempotent-Replayed"] = "true"
                return Response(text, status, media_type="application/json", headers=headers)
            result = expand(tx, handler(tx, params, **request.path_params), params)
            text = json.dumps(result, indent=2)
            if key:
                tx.save_idempotent_response(key, fingerprint, 200, text)
        return Response(text, 200, media_type="application/json", headers=headers)
    except StripeError as error:
        return json_response(error.status, error.body(), headers)
    except Exception:
        logger.exception("devstripe: %s %s failed", method, request.url.path)
        error = StripeError(500, "An unknown error occurred in devstripe.", type="api_error")
        return json_response(500, error.body(), headers)


async def _unrecognized(request: Request) -> Response:
    error = StripeError(404, f"Unrecognized request URL ({request.method}: {request.url.path}).")
    return json_response(404, error.body())


def api_routes(emulator: Emulator) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(path, _endpoint(emulator, method, handler), methods=[method])
        for method, path, handler in ROUTES
    ]
    routes.append(Route("/v1/{rest:path}", _unrecognized, methods=list(_METHODS)))
    return routes
