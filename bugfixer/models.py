"""Imports every model so Base.metadata is complete (for Alembic and tests)."""

from bugfixer.db import Base
from bugfixer.fixing.models import Fix
from bugfixer.metering.models import Trial, UsageRecord, Visitor

__all__ = ["Base", "Fix", "Trial", "UsageRecord", "Visitor"]
