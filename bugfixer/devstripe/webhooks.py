"""Webhook delivery: signed like Stripe, in event order, retried with backoff.

A worker thread per process drains the ``events`` table oldest first. Each event is
leased before it is sent, so several processes sharing the database never deliver
one event concurrently and the order holds across them. The thread exits when there
is nothing left to send and is started again by the next event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from typing import Any

import httpx

from .store import Store

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds to wait before each retry; an event is given up after ``len + 1`` attempts."""
DELIVERY_TIMEOUT = 10.0
LEASE_SECONDS = DELIVERY_TIMEOUT * (len(RETRY_DELAYS) + 1) + sum(RETRY_DELAYS)
_IDLE_POLL = 0.1


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload`` (HMAC-SHA256 of ``t.payload``)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


class Dispatcher:
    def __init__(self, store: Store, secret: str) -> None:
        self._store = store
        self._secret = secret
        self._owner = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """Make sure a worker is running; returns at once."""
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="devstripe-webhooks", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=DELIVERY_TIMEOUT, follow_redirects=False) as client:
                while self._step(client):
                    pass
        except Exception:
            logger.exception("devstripe: webhook worker stopped")
        finally:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _step(self, client: httpx.Client) -> bool:
        """Deliver the next event; False when there is nothing left to do."""
        self._wake.clear()
        event = self._store.claim_next_event(self._owner, LEASE_SECONDS)
        if isinstance(event, dict):
            self._deliver(client, event)
        elif event == "busy":  # another process is sending the head of the queue
            time.sleep(_IDLE_POLL)
        else:
            with self._lock:
                if self._wake.is_set():
                    return True
                self._thread = None
                return False
        return True

    def _deliver(self, client: httpx.Client, event: dict[str, Any]) -> None:
        for attempt in range(len(RETRY_DELAYS) + 1):
            url = self._webhook_url()
            if url is None:
                self._store.record_attempt(event["id"], {"error": "no webhook URL"}, "none")
                return
            ok, record = self._attempt(client, url, event, attempt + 1)
            final = ok or attempt == len(RETRY_DELAYS)
            status = ("delivered" if ok else "failed") if final else None
            self._store.record_attempt(event["id"], record, status)
            if final:
                return
            time.sleep(RETRY_DELAYS[attempt])

    def _attempt(
        self, client: httpx.Client, url: str, event: dict[str, Any], number: int
    ) -> tuple[bool, dict[str, Any]]:
        payload = json.dumps(event, indent=2)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, self._secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        record: dict[str, Any] = {"attempt": number, "at": time.time(), "url": url}
        try:
            response = client.post(url, content=payload.encode(), headers=headers)
        except httpx.HTTPError as exc:
            record.update(status=None, error=f"{type(exc).__name__}: {exc}")
            return False, record
        record.update(status=response.status_code, error=None)
        return response.is_success, record

    def _webhook_url(self) -> str | None:
        with self._store.transaction() as tx:
            return tx.setting("webhook_url")
