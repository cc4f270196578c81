"""Test controls under ``/_test/``: move the clock, force failures, await webhooks."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import billing
from .api import local_only_error
from .clock import OFFSET_KEY
from .emulator import Emulator
from .objects import get
from .params import StripeError
from .store import Tx

FLUSH_TIMEOUT = 10.0
MAX_FLUSH_TIMEOUT = 60.0
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}


def _clock(tx: Tx) -> dict[str, Any]:
    return {
        "now": tx.now,
        "iso": datetime.fromtimestamp(tx.now, UTC).isoformat(),
        "offset": tx.setting(OFFSET_KEY, 0.0),
    }


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise StripeError(400, f"{name} must be a non-negative number", param=name)
    return float(value)


def advance(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    """Move the clock forward, processing renewals and cancellations as they fall due."""
    seconds = int(sum(_number(body, unit) * factor for unit, factor in _UNITS.items()))
    with emulator.transaction() as tx:
        start = tx.now
        billing.process_due(tx, start + seconds)
        tx.set_setting(OFFSET_KEY, tx.setting(OFFSET_KEY, 0.0) + seconds)
        tx.now = start + seconds
        result = _clock(tx)
        result["advanced_by"] = seconds
        result["events"] = [{"id": e["id"], "type": e["type"]} for e in tx.emitted]
    return result


def fail_next_renewal(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    with emulator.transaction() as tx:
        sub = get(tx, "subscription", str(body.get("subscription", "")))
        internal = tx.internal(sub["id"])
        internal["fail_next_renewal"] = True
        tx.put(sub, internal)
    return {"subscription": sub["id"], "fail_next_renewal": True}


def now(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    with emulator.transaction() as tx:
        return _clock(tx)


def flush(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    """Wait (bounded) until no webhook is pending; returns delivery counts."""
    timeout = min(_number(body, "timeout") or FLUSH_TIMEOUT, MAX_FLUSH_TIMEOUT)
    deadline = time.monotonic() + timeout
    emulator.dispatcher.kick()
    counts = emulator.store.webhook_counts()
    while counts["pending"] and time.monotonic() < deadline:
        time.sleep(0.02)
        counts = emulator.store.webhook_counts()
    with emulator.transaction() as tx:
        webhook_url = tx.setting("webhook_url")
    return {**counts, "timed_out": bool(counts["pending"]), "webhook_url": webhook_url}


def redeliver(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    event_id = str(body.get("event", ""))
    with emulator.transaction() as tx:
        if not tx.requeue_event(event_id):
            raise StripeError(404, f"No such event: '{event_id}'", code="resource_missing")
    emulator.dispatcher.kick()
    return {"event": event_id, "status": "pending"}


def deliveries(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    event_id = str(body.get("event", ""))
    with emulator.transaction() as tx:
        attempts = tx.event_attempts(event_id)
        event = tx.event(event_id)
    if attempts is None or event is None:
        raise StripeError(404, f"No such event: '{event_id}'", code="resource_missing")
    return {"event": event_id, "pending_webhooks": event["pending_webhooks"], "attempts": attempts}


_CONTROLS = {
    "advance": ({"POST"}, advance),
    "fail_next_renewal": ({"POST"}, fail_next_renewal),
    "now": ({"GET", "POST"}, now),
    "flush": ({"POST"}, flush),
    "redeliver": ({"POST"}, redeliver),
    "deliveries": ({"GET", "POST"}, deliveries),
}


def control_routes(emulator: Emulator) -> list[BaseRoute]:
    async def control(request: Request) -> Response:
        if (refusal := local_only_error(request)) is not None:
            return JSONResponse(refusal.body(), status_code=refusal.status)
        methods, action = _CONTROLS.get(request.path_params["name"], (set(), None))
        if action is None or request.method not in methods:
            error = StripeError(404, f"Unknown test control: {request.url.path}")
            return JSONResponse(error.body(), status_code=404)
        if request.method == "GET":
            body: Any = dict(request.query_params)
        else:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                error = StripeError(400, "Send a JSON object as the request body.")
                return JSONResponse(error.body(), status_code=400)
        try:
            result = await emulator.run(action, emulator, body)
        except StripeError as error:
            return JSONResponse(error.body(), status_code=error.status)
        return JSONResponse(result)

    return [Route("/_test/{name}", control, methods=["GET", "POST"])]
