"""Stripe state in one SQLite file, so restarts and several worker processes agree.

Every operation runs in its own short ``BEGIN IMMEDIATE`` transaction on a fresh
connection: writers are serialised by SQLite itself (WAL, busy timeout), which works
the same across threads and processes, and no connection outlives its request.
"""

from __future__ import annotations

import copy
import json
import secrets
import sqlite3
import string
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from .clock import OFFSET_KEY, emulated_now

DEFAULT_API_VERSION = "2025-08-27.basil"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    internal TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS objects_by_type ON objects (type, seq);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    created INTEGER NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts TEXT NOT NULL DEFAULT '[]',
    lease_owner TEXT,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS events_by_status ON events (status, seq);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
"""

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def event_json(row: sqlite3.Row) -> dict[str, Any]:
    event = json.loads(row["data"])
    event["pending_webhooks"] = 1 if row["status"] in ("pending", "failed") else 0
    return event


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # Webhook delivery bookkeeping, outside any API transaction.

    def claim_next_event(self, owner: str, lease: float) -> dict[str, Any] | str | None:
        """The oldest undelivered event, leased to ``owner``; "busy" if someone else has it."""
        with self.transaction() as tx:
            row = tx.conn.execute(
                "SELECT * FROM events WHERE status = 'pending' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            now = time.time()
            if row["lease_owner"] not in (None, owner) and (row["lease_until"] or 0) > now:
                return "busy"
            tx.conn.execute(
                "UPDATE events SET lease_owner = ?, lease_until = ? WHERE id = ?",
                (owner, now + lease, row["id"]),
            )
            return event_json(row)

    def record_attempt(self, event_id: str, attempt: dict[str, Any], status: str | None) -> None:
        with self.transaction() as tx:
            row = tx.conn.execute(
                "SELECT attempts FROM events WHERE id = ?", (event_id,)
            ).fetchone()
            attempts = [*json.loads(row["attempts"]), attempt]
            tx.conn.execute(
                "UPDATE events SET attempts = ? WHERE id = ?", (json.dumps(attempts), event_id)
            )
            if status:
                tx.conn.execute(
                    "UPDATE events SET status = ?, lease_owner = NULL, lease_until = NULL "
                    "WHERE id = ?",
                    (status, event_id),
                )

    def webhook_counts(self) -> dict[str, int]:
        with self.connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) AS n FROM events GROUP BY status")
            counts = {row["status"]: row["n"] for row in rows}
        return {key: counts.get(key, 0) for key in ("pending", "delivered", "failed")}


class Tx:
    """One transaction: objects, events, settings and idempotency records."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.now = emulated_now(float(self.setting(OFFSET_KEY, 0.0)))
        self.base_url = ""  # devstripe's absolute URL, for the links it hands out
        self.request_id: str | None = None
        self.idempotency_key: str | None = None
        self.emitted: list[dict[str, Any]] = []

    # Objects: the public JSON, plus private bookkeeping never shown to clients.

    def get(self, object_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM objects WHERE id = ?", (object_id,)).fetchone()
        return json.loads(row["data"]) if row else None

    def internal(self, object_id: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT internal FROM objects WHERE id = ?", (object_id,)
        ).fetchone()
        return json.loads(row["internal"]) if row else {}

    def put(self, obj: dict[str, Any], internal: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(obj)
        if internal is None:
            self.conn.execute(
                "INSERT INTO objects (id, type, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (obj["id"], obj["object"], data),
            )
        else:
            self.conn.execute(
                "INSERT INTO objects (id, type, data, internal) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data, internal = excluded.internal",
                (obj["id"], obj["object"], data, json.dumps(internal)),
            )
        return obj

    def find(
        self, type_: str, where: Callable[[dict[str, Any]], bool] | None = None, **equal: Any
    ) -> list[dict[str, Any]]:
        """Objects of one type, newest first, filtered by field equality and ``where``."""
        rows = self.conn.execute(
            "SELECT data FROM objects WHERE type = ? ORDER BY seq DESC", (type_,)
        )
        found = []
        for row in rows:
            obj = json.loads(row["data"])
            if all(obj.get(key) == value for key, value in equal.items()) and (
                where is None or where(obj)
            ):
                found.append(obj)
        return found

    # Settings (clock offset, webhook URL, API version, ...).

    def setting(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    # Events.

    def emit(
        self, type_: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        pending = self.setting("webhook_url") is not None
        event = {
            "api_version": self.setting("api_version", DEFAULT_API_VERSION),
            "created": self.now,
            "data": data,
            "id": new_id("evt_"),
            "livemode": False,
            "object": "event",
            "pending_webhooks": 1 if pending else 0,
            "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
            "type": type_,
        }
        self.conn.execute(
            "INSERT INTO events (id, type, created, data, status) VALUES (?, ?, ?, ?, ?)",
            (event["id"], type_, self.now, json.dumps(event), "pending" if pending else "none"),
        )
        self.emitted.append(event)
        return event

    def event(self, event_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        return event_json(row) if row else None

    def events(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM events ORDER BY seq DESC")
        return [event_json(row) for row in rows]

    def event_attempts(self, event_id: str) -> list[dict[str, Any]] | None:
        row = self.conn.execute("SELECT attempts FROM events WHERE id = ?", (event_id,)).fetchone()
        return json.loads(row["attempts"]) if row else None

    def requeue_event(self, event_id: str) -> bool:
        cursor = self.conn.execute(
            "UPDATE events SET status = 'pending', lease_owner = NULL, lease_until = NULL "
            "WHERE id = ?",
            (event_id,),
        )
        return cursor.rowcount == 1

    # Idempotency-Key replay records.

    def idempotent_response(self, key: str) -> tuple[str, int, str] | None:
        row = self.conn.execute(
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        return (row["fingerprint"], row["status"], row["body"]) if row else None

    def save_idempotent_response(self, key: str, fingerprint: str, status: int, body: str) -> None:
        """Keys are kept for 24 hours, as Stripe does."""
        self.conn.execute("DELETE FROM idempotency WHERE created < ?", (time.time() - 86_400,))
        self.conn.execute(
            "INSERT OR REPLACE INTO idempotency (key, fingerprint, status, body, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, fingerprint, status, body, time.time()),
        )
