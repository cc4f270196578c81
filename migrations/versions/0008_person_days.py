"""visitor days by person: a browser's days belong to the account it first signed up or
in with, and each day points to the person's previous one, so a report counts the
people of a period without a join or a distinct; a browser's link is its first account

Revision ID: c8a4d5e6f708
Revises: c7f3b4c5d607
Create Date: 2026-12-02 18:30:00

Both roll-ups are rebuilt from what is stored; stop processes running the older code
first (they would write days by browser).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c8a4d5e6f708"
down_revision: str | None = "c7f3b4c5d607"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# analytics.events.NOT_VISITS and LINK_KINDS as they were when this was written.
NOT_VISITS = "('checkout_completed', 'subscription_canceled', 'payment_failed', 'refund')"
LINK_KINDS = "('signed_up', 'signed_in')"


def _set_aside(table: str) -> None:
    """Rename ``table`` to ``<table>_old`` (its primary key too, whose name is taken)."""
    op.rename_table(table, f"{table}_old")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table}_old RENAME CONSTRAINT pk_{table} TO pk_{table}_old")


def upgrade() -> None:
    # The first account each browser signed up or in with (it was the lowest).
    op.execute("DELETE FROM visitor_links")
    op.execute(
        "INSERT INTO visitor_links (visitor_key, user_id) SELECT visitor_key, user_id FROM "
        "(SELECT visitor_key, user_id, row_number() OVER (PARTITION BY visitor_key ORDER BY id) "
        f"AS n FROM product_events WHERE kind IN {LINK_KINDS} AND visitor_key IS NOT NULL "
        "AND user_id IS NOT NULL) AS firsts WHERE n = 1"
    )
    _set_aside("visitor_days")
    op.create_table(
        "visitor_days",
        sa.Column("visitor_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prev_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("visitor_key", "day", name=op.f("pk_visitor_days")),
    )
    op.execute(
        "INSERT INTO visitor_days (visitor_key, day, prev_day) "
        "SELECT who, day, lag(day) OVER (PARTITION BY who ORDER BY day) FROM "
        "(SELECT DISTINCT coalesce(l.user_id, o.visitor_key) AS who, o.day FROM "
        "visitor_days_old o LEFT JOIN visitor_links l ON l.visitor_key = o.visitor_key) AS p"
    )
    op.drop_table("visitor_days_old")
    op.create_index("ix_visitor_days_day_prev_day", "visitor_days", ["day", "prev_day"])


def downgrade() -> None:
    """Back to a row per account or browser and day, and the lowest account per browser."""
    op.drop_index("ix_visitor_days_day_prev_day", table_name="visitor_days")
    op.drop_table("visitor_days")
    op.create_table(
        "visitor_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_key", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "visitor_key", name=op.f("pk_visitor_days")),
    )
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(timezone('UTC', occurred_at) AS date)"
    else:
        day = "substr(occurred_at, 1, 10)"  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS'
    op.execute(
        f"INSERT INTO visitor_days (day, visitor_key) "
        f"SELECT DISTINCT {day}, coalesce(user_id, visitor_key) FROM product_events "
        f"WHERE kind NOT IN {NOT_VISITS} AND coalesce(user_id, visitor_key) IS NOT NULL"
    )
    op.execute("DELETE FROM visitor_links")
    op.execute(
        f"INSERT INTO visitor_links (visitor_key, user_id) "
        f"SELECT visitor_key, min(user_id) FROM product_events WHERE kind IN {LINK_KINDS} "
        f"AND visitor_key IS NOT NULL AND user_id IS NOT NULL GROUP BY visitor_key"
    )
