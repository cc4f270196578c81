"""The audit log: every administrator action is written with the change it made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bugfixer.admin.models import AdminAction
from bugfixer.errors import InvalidInput
from bugfixer.metering.identity import Identity

MAX_REASON_CHARS = 500

GRANT = "grant_complimentary"
REVOKE = "revoke_complimentary"
REFUND = "refund"
RESET_MAIL = "password_reset_mail"
CONFIRM_MAIL = "confirmation_mail"
REPLAY = "replay_webhook"
LABELS = {
    GRANT: "Granted complimentary access",
    REVOKE: "Revoked complimentary access",
    REFUND: "Refunded a payment",
    RESET_MAIL: "Sent a password reset mail",
    CONFIRM_MAIL: "Sent the address confirmation mail again",
    REPLAY: "Replayed a webhook event",
}


def checked_reason(reason: str) -> str:
    """Why the administrator did it: required, so the log always says."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Say why (the reason is kept in the audit log).")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    return reason


def record_action(
    *,
    session: Session,
    admin: Identity,
    action: str,
    reason: str,
    target_user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AdminAction(
            admin_user_id=admin.user_id,
            admin_email=admin.email or "",
            action=action,
            target_user_id=target_user_id,
            reason=reason,
            details=details or {},
        )
    )


def actions_on(*, session: Session, user_id: int, limit: int = 50) -> list[AdminAction]:
    return list(
        session.scalars(
            select(AdminAction)
            .where(AdminAction.target_user_id == user_id)
            .order_by(AdminAction.occurred_at.desc(), AdminAction.id.desc())
            .limit(limit)
        )
    )
