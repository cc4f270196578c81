"""Page views, recorded without a database write on the request path.

The fix page is the hot path (thousands of requests a second per worker), and a view
changes nothing, so there is no transaction to join. A view is noted in memory on the
event loop (a set lookup and a list append) and written with the others of the last
second in one multi-row INSERT by a background task. Only the first view per browser
(or account) per UTC day of each page is kept: the dashboard counts visitors, not
reloads, and a client that never keeps cookies cannot flood the table (its views are
capped per fingerprint per day). A process that dies loses at most its last second of
views; every other event is written in its action's own transaction.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from bugfixer.analytics.events import event_row, record_events
from bugfixer.db import Database, utcnow

log = logging.getLogger(__name__)

# A cookieless client (a script, a bot, a browser refusing cookies) mints a new visitor
# id on every request; this many of its views per fingerprint and day are kept.
COOKIELESS_VIEWS_PER_DAY = 20
MAX_PENDING = 20_000
MAX_SEEN = 500_000


class ViewRecorder:
    """Collects first views of the day on the event loop; ``flush`` writes them."""

    def __init__(self, *, max_pending: int = MAX_PENDING, max_seen: int = MAX_SEEN) -> None:
        self.max_pending = max_pending
        self.max_seen = max_seen
        self._pending: list[dict[str, Any]] = []
        self._day: date | None = None
        self._seen: set[tuple[str, str]] = set()
        self._cookieless: dict[tuple[str, str], int] = {}
        self.dropped = 0

    def view(
        self,
        kind: str,
        *,
        visitor_id: str | None,
        user_id: int | None,
        had_cookie: bool,
        fingerprint: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> bool:
        """Note a view; True if it is the first of the day and will be written."""
        now = utcnow()
        if now.date() != self._day:
            self._day = now.date()
            self._seen.clear()
            self._cookieless.clear()
        if user_id is not None:
            key = f"u{user_id}"
        elif had_cookie or not fingerprint:
            key = f"v{visitor_id}"
        else:
            counted = (kind, fingerprint)
            if self._cookieless.get(counted, 0) >= COOKIELESS_VIEWS_PER_DAY:
                return False
            self._cookieless[counted] = self._cookieless.get(counted, 0) + 1
            key = f"v{visitor_id}"
        if (kind, key) in self._seen:
            return False
        if len(self._seen) >= self.max_seen:
            self._seen.clear()  # memory stays bounded; a few views may be kept twice
        self._seen.add((kind, key))
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return False
        self._pending.append(
            event_row(
                kind=kind,
                visitor_id=visitor_id,
                user_id=user_id,
                properties=properties,
                occurred_at=now,
            )
        )
        return True

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self, db: Database) -> int:
        """Write what is pending in one INSERT; returns how many views were written."""
        rows, self._pending = self._pending, []
        if self.dropped:
            log.warning("dropped %d page views: the write queue was full", self.dropped)
            self.dropped = 0
        if not rows:
            return 0
        try:
            return await db.write(record_events, rows=rows)
        except Exception:
            log.exception("could not record %d page views", len(rows))
            return 0

    async def run(self, db: Database, every_s: float = 1.0) -> None:
        """Flush every ``every_s`` seconds until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(every_s)
                await self.flush(db)
        finally:
            await asyncio.shield(self.flush(db))
