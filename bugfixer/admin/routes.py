"""The operator's overview. Read-only aggregates over the local tables."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bugfixer.accounts.models import User
from bugfixer.deps import AdminUser, ContextDep
from bugfixer.fixing.models import Fix
from bugfixer.metering.models import UsageRecord, Visitor

router = APIRouter(include_in_schema=False)


def overview(*, session: Session) -> dict[str, object]:
    def count(stmt) -> int:  # type: ignore[no-untyped-def]
        return session.scalar(stmt) or 0

    usage = session.execute(
        select(
            func.count(UsageRecord.id),
            func.coalesce(func.sum(UsageRecord.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRecord.completion_tokens), 0),
            func.coalesce(func.sum(UsageRecord.cost_microusd), 0),
            func.coalesce(func.avg(UsageRecord.latency_ms), 0),
        )
    ).one()
    by_model = session.execute(
        select(UsageRecord.provider, UsageRecord.model, func.count(UsageRecord.id))
        .group_by(UsageRecord.provider, UsageRecord.model)
        .order_by(func.count(UsageRecord.id).desc())
    ).all()
    return {
        "visitors": count(select(func.count(Visitor.id))),
        "accounts": count(select(func.count(User.id))),
        "fixes": count(select(func.count(Fix.id))),
        "no_fix": count(select(func.count(Fix.id)).where(Fix.status == "no_fix")),
        "charged": usage[0],
        "prompt_tokens": usage[1],
        "completion_tokens": usage[2],
        "cost_usd": usage[3] / 1_000_000,
        "avg_latency_ms": round(usage[4] or 0),
        "by_model": by_model,
    }


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, ctx: ContextDep, me: AdminUser) -> Response:
    return ctx.templates.TemplateResponse(
        request, "admin.html", {"stats": await ctx.db.read(overview)}
    )
