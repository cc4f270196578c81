"""visitor days: who visited on which UTC day, filled from the product events so far

Revision ID: c7f3b4c5d607
Revises: c6e1a2b3d406
Create Date: 2026-12-02 14:00:00

From here on the app adds a row with each visit it records. Run this migration before
new code serves; events an older process records after it ran have no row (running the
backfill again adds them: it skips the rows that exist).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7f3b4c5d607"
down_revision: str | None = "c6e1a2b3d406"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# analytics.events.NOT_VISITS as it was when this migration was written.
NOT_VISITS = "('checkout_completed', 'subscription_canceled', 'payment_failed', 'refund')"


def upgrade() -> None:
    op.create_table(
        "visitor_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_key", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "visitor_key", name=op.f("pk_visitor_days")),
    )
    backfill()


def backfill() -> None:
    """One row per person and UTC day with a visit, as ``analytics.events`` writes them."""
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(timezone('UTC', occurred_at) AS date)"
    else:
        day = "substr(occurred_at, 1, 10)"  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS'
    op.execute(
        f"INSERT INTO visitor_days (day, visitor_key) "
        f"SELECT DISTINCT {day}, coalesce(user_id, visitor_key) FROM product_events "
        f"WHERE kind NOT IN {NOT_VISITS} AND coalesce(user_id, visitor_key) IS NOT NULL "
        f"ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.drop_table("visitor_days")
