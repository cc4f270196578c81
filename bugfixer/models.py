"""Imports every model so Base.metadata is complete (for Alembic and tests)."""

from bugfixer.accounts.mail import OutboxMessage
from bugfixer.accounts.models import ApiKey, LoginSession, User
from bugfixer.admin.models import AdminAction
from bugfixer.analytics.models import ProductEvent, VisitorDay, VisitorLink
from bugfixer.billing.models import (
    BillingCustomer,
    CheckoutSession,
    ComplimentaryGrant,
    StripeEvent,
    Subscription,
    Transaction,
)
from bugfixer.db import Base
from bugfixer.fixing.models import Fix, LlmCall
from bugfixer.metering.models import PendingFix, Trial, UsageRecord, Visitor

__all__ = [
    "AdminAction",
    "ApiKey",
    "Base",
    "BillingCustomer",
    "CheckoutSession",
    "ComplimentaryGrant",
    "Fix",
    "LlmCall",
    "LoginSession",
    "OutboxMessage",
    "PendingFix",
    "ProductEvent",
    "StripeEvent",
    "Subscription",
    "Transaction",
    "Trial",
    "UsageRecord",
    "User",
    "Visitor",
    "VisitorDay",
    "VisitorLink",
]
