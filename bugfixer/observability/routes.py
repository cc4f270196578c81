"""Probes and the scrape endpoint: /healthz (alive), /readyz (can serve), /metrics."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from bugfixer import migrate
from bugfixer.deps import ContextDep, Forbidden, Unauthorized
from bugfixer.observability import metrics

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# A probe must answer before the load balancer gives up on it.
READY_TIMEOUT_S = 3.0
_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@router.get("/healthz")
async def healthz(ctx: ContextDep) -> Response:
    """Liveness: the process answers. No database call, so a database outage never gets
    healthy processes restarted; /readyz is the probe that looks at dependencies."""
    return JSONResponse({"status": "ok", "provider": ctx.provider.name})


@router.get("/readyz")
async def readyz(ctx: ContextDep) -> Response:
    """Readiness: the database answers at the schema this code needs, and Redis when used."""

    def database() -> Awaitable[str | None]:
        # A thread of anyio's own pool, not the app's database threads: a hung database
        # must not let repeated probes take the threads requests need.
        return anyio.to_thread.run_sync(_database_problem, ctx.db.engine, abandon_on_cancel=True)

    checks = {"database": await _bounded("database", database)}
    if ctx.limiter.shared:
        checks["rate_limit_storage"] = await _bounded("rate limit storage", ctx.limiter.check)
    problems = [problem for problem in checks.values() if problem != "ok"]
    if problems:
        body = {"status": "unavailable", "reason": "; ".join(problems), "checks": checks}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "checks": checks})


async def _bounded(what: str, check: Callable[[], Awaitable[str | None]]) -> str:
    """Run one check for at most READY_TIMEOUT_S: 'ok', or what is wrong."""
    try:
        with anyio.fail_after(READY_TIMEOUT_S):
            problem = await check()
    except TimeoutError:
        problem = f"the {what} did not answer within {READY_TIMEOUT_S:g} s"
    if problem:
        log.warning("not ready: %s", problem)
    return problem or "ok"


def _database_problem(engine: Engine) -> str | None:
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:
        log.warning("readiness: database error: %s", exc)
        return f"the database is unreachable ({type(exc).__name__})"
    head = migrate.head_revision()
    if current != head:
        return (
            f"the database schema is at {current or 'no revision'} but this version needs "
            f"{head}: run `bugfixer db upgrade`"
        )
    return None


@router.get("/metrics")
def metrics_endpoint(request: Request, ctx: ContextDep) -> Response:
    """Prometheus text format, summed over every worker of this server."""
    token = ctx.settings.metrics_token.get_secret_value()
    if token:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            sent.strip().encode(), token.encode()
        ):
            err = Unauthorized("Send the metrics token: Authorization: Bearer <token>.")
            err.headers["WWW-Authenticate"] = "Bearer"
            raise err
    elif not _loopback(request):
        raise Forbidden(
            "Metrics are served only to this machine; set BUGFIXER_METRICS_TOKEN to scrape "
            "from elsewhere."
        )
    body, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(body, headers={"Content-Type": content_type})


def _loopback(request: Request) -> bool:
    """A direct peer on this machine; a request relayed by a proxy here is not one."""
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
