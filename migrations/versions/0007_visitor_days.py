"""visitor days and links (who visited on which day, which account a browser became), and
a partial index of the funnel's events; the index of sign-up links, which reports read
from visitor_links now, is dropped

Revision ID: c7f3b4c5d607
Revises: c6e1a2b3d406
Create Date: 2026-12-02 14:00:00

Both roll-ups are filled from the product events so far; from here on the app keeps them
as it records events. Events that a process still running the older code records after
this migration ran are missing from them: stop the old processes first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7f3b4c5d607"
down_revision: str | None = "c6e1a2b3d406"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# analytics.events.NOT_VISITS and LINK_KINDS as they were when this was written.
NOT_VISITS = "('checkout_completed', 'subscription_canceled', 'payment_failed', 'refund')"
LINK_KINDS = "('signed_up', 'signed_in')"
# analytics.models.FUNNEL_WHERE, likewise.
STEPS = "kind IN ('paywall_shown', 'checkout_started', 'checkout_completed')"
FIXES = "kind IN ('fix_completed', 'fix_no_fix')"


def upgrade() -> None:
    op.create_table(
        "visitor_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_key", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "visitor_key", name=op.f("pk_visitor_days")),
    )
    op.create_table(
        "visitor_links",
        sa.Column("visitor_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("visitor_key", name=op.f("pk_visitor_links")),
    )
    backfill()
    op.drop_index("ix_product_events_links", table_name="product_events")
    op.create_index(
        "ix_product_events_funnel",
        "product_events",
        ["occurred_at"],
        postgresql_include=["kind", "user_id", "visitor_key"],
        postgresql_where=sa.text(f"{STEPS} OR ({FIXES} AND (properties ->> 'plan') = 'free')"),
        sqlite_where=sa.text(
            f"{STEPS} OR ({FIXES} AND json_extract(properties, '$.plan') = 'free')"
        ),
    )


def backfill() -> None:
    """The rows ``analytics.events`` would have written with each event so far."""
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(timezone('UTC', occurred_at) AS date)"
    else:
        day = "substr(occurred_at, 1, 10)"  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS'
    op.execute(
        f"INSERT INTO visitor_days (day, visitor_key) "
        f"SELECT DISTINCT {day}, coalesce(user_id, visitor_key) FROM product_events "
        f"WHERE kind NOT IN {NOT_VISITS} AND coalesce(user_id, visitor_key) IS NOT NULL"
    )
    op.execute(
        f"INSERT INTO visitor_links (visitor_key, user_id) "
        f"SELECT visitor_key, min(user_id) FROM product_events WHERE kind IN {LINK_KINDS} "
        f"AND visitor_key IS NOT NULL AND user_id IS NOT NULL GROUP BY visitor_key"
    )


def downgrade() -> None:
    op.drop_index("ix_product_events_funnel", table_name="product_events")
    links = sa.text(f"kind IN {LINK_KINDS}")
    op.create_index(
        "ix_product_events_links",
        "product_events",
        ["visitor_key"],
        postgresql_include=["user_id"],
        postgresql_where=links,
        sqlite_where=links,
    )
    op.drop_table("visitor_links")
    op.drop_table("visitor_days")
