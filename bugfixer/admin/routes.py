"""The operator's dashboard, its JSON API, the CSV exports and the webhook event log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bugfixer.admin import audit, exports
from bugfixer.admin.dashboard import dashboard_page
from bugfixer.admin.format import usd
from bugfixer.admin.metrics import Report, report
from bugfixer.admin.period import Period, parse_period
from bugfixer.admin.schemas import AdminMetrics
from bugfixer.admin.stripe_events import events_page
from bugfixer.billing.webhooks import WebhookFailed, process, stored_event
from bugfixer.deps import AdminUser, ContextDep, CsrfProtected, GatewayDep
from bugfixer.errors import NotFound
from bugfixer.fixing.schemas import ErrorResponse

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/admin", tags=["admin"])


async def period_of(
    days: Annotated[
        str | None, Query(description="The last N days, today (UTC) included: 1 to 366.")
    ] = None,
    start: Annotated[str | None, Query(description="First day, YYYY-MM-DD (with end).")] = None,
    end: Annotated[str | None, Query(description="Last day, YYYY-MM-DD, inclusive.")] = None,
) -> Period:
    """The report's period; without any of these, the last 30 days."""
    return parse_period(days=days, start=start, end=end)


PeriodDep = Annotated[Period, Depends(period_of)]


async def _report(ctx: ContextDep, period: Period) -> Report:
    # This process's page views of the last second first, so the numbers are current.
    await ctx.views.flush(ctx.db)
    return await ctx.db.read(report, period=period, plans=ctx.plans, prices=ctx.settings.llm_price)


@api.get(
    "/metrics",
    response_model=AdminMetrics,
    responses={
        401: {"model": ErrorResponse, "description": "unauthorized: no session or API key"},
        403: {"model": ErrorResponse, "description": "forbidden: not an administrator"},
        422: {"model": ErrorResponse, "description": "invalid_input: a bad period"},
    },
)
async def metrics(ctx: ContextDep, me: AdminUser, period: PeriodDep) -> AdminMetrics:
    """Revenue, subscriptions, the conversion funnel, fixes and LLM cost for a period.

    `?days=N` (the last N days, today included; default 30) or
    `?start=YYYY-MM-DD&end=YYYY-MM-DD` (UTC, inclusive). Administrators only: an admin's
    session or `Authorization: Bearer <an admin's API key>`. Amounts are in cents (MRR,
    ARR, ARPU and margin may be fractional); LLM costs in US dollars.
    """
    return (await _report(ctx, period)).metrics


@router.get("/admin", response_class=HTMLResponse)
async def dashboard(
    request: Request, ctx: ContextDep, me: AdminUser, period: PeriodDep
) -> Response:
    found = await _report(ctx, period)
    days = request.query_params.get("days")
    preset = None
    if not request.query_params.get("start"):
        preset = int(days) if days and days.isdigit() else 30
    page = dashboard_page(found, period, preset=preset, plans=ctx.plans)
    return ctx.templates.TemplateResponse(
        request, "admin/dashboard.html", {"page": page, "section": "dashboard", "usd": usd}
    )


# -- CSV exports ---------------------------------------------------------------------------


def _csv(name: str, period: Period, body: str) -> Response:
    filename = f"{name}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/admin/export/ledger.csv")
async def export_ledger(ctx: ContextDep, me: AdminUser, period: PeriodDep) -> Response:
    rows = await ctx.db.read(exports.ledger_rows, period=period)
    return _csv("ledger", period, exports.to_csv(exports.LEDGER_COLUMNS, rows))


@router.get("/admin/export/subscriptions.csv")
async def export_subscriptions(ctx: ContextDep, me: AdminUser, period: PeriodDep) -> Response:
    rows = await ctx.db.read(exports.subscription_rows, period=period)
    return _csv("subscriptions", period, exports.to_csv(exports.SUBSCRIPTION_COLUMNS, rows))


@router.get("/admin/export/daily.csv")
async def export_daily(ctx: ContextDep, me: AdminUser, period: PeriodDep) -> Response:
    found = await _report(ctx, period)
    rows = exports.daily_rows(found.metrics)
    return _csv("daily", period, exports.to_csv(exports.DAILY_COLUMNS, rows))


# -- webhook events --------------------------------------------------------------------------

OUTCOMES = ("processed", "ignored", "duplicate", "failed")


@router.get("/admin/events", response_class=HTMLResponse)
async def webhook_events(
    request: Request, ctx: ContextDep, me: AdminUser, status: str = "", page: int = 1
) -> Response:
    found = await ctx.db.read(events_page, status=status, page=page)
    replayed = request.query_params.get("replayed", "")
    outcome = request.query_params.get("outcome", "")
    return ctx.templates.TemplateResponse(
        request,
        "admin/events.html",
        {
            "page": found,
            "section": "events",
            "replayed": replayed[:255] if outcome in OUTCOMES else "",
            "outcome": outcome if outcome in OUTCOMES else "",
        },
    )


@router.post("/admin/events/{event_id}/replay", dependencies=[CsrfProtected])
def replay_webhook_event(
    event_id: str,
    ctx: ContextDep,
    gateway: GatewayDep,
    me: AdminUser,
    reason: str = Form("Replayed from the webhook events page"),
) -> Response:
    """The same code as `bugfixer stripe replay EVENT_ID` (blocking: a worker thread)."""
    reason = audit.checked_reason(reason)
    event = ctx.db.read_now(stored_event, event_id=event_id)
    if event is None:
        raise NotFound(f"There is no stored webhook event {event_id[:80]!r}.")
    error = None
    try:
        outcome = process(db=ctx.db, gateway=gateway, plans=ctx.plans, event=event, replay=True)
    except WebhookFailed as exc:
        outcome, error = "failed", str(exc)
    ctx.db.write_now(
        audit.record_action,
        admin=me,
        action=audit.REPLAY,
        reason=reason,
        details={
            "event_id": event_id,
            "type": event.get("type"),
            "outcome": outcome,
            "error": error,
        },
    )
    query = urlencode({"replayed": event_id, "outcome": outcome})
    return RedirectResponse(f"/admin/events?{query}", status_code=303)
