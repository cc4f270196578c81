"""Imports every model so Base.metadata is complete (for Alembic and tests)."""

from bugfixer.accounts.mail import OutboxMessage
from bugfixer.accounts.models import ApiKey, LoginSession, User
from bugfixer.billing.models import (
    BillingCustomer,
    CheckoutSession,
    StripeEvent,
    Subscription,
    Transaction,
)
from bugfixer.db import Base
from bugfixer.fixing.models import Fix, LlmCall
from bugfixer.metering.models import PendingFix, Trial, UsageRecord, Visitor

__all__ = [
    "ApiKey",
    "Base",
    "BillingCustomer",
    "CheckoutSession",
    "Fix",
    "LlmCall",
    "LoginSession",
    "OutboxMessage",
    "PendingFix",
    "StripeEvent",
    "Subscription",
    "Transaction",
    "Trial",
    "UsageRecord",
    "User",
    "Visitor",
]
