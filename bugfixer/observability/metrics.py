"""Prometheus metrics: every metric the product exports, and one-line helpers to record them.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``bugfixer serve --workers N`` sets it up), each
worker writes its values to files there and ``/metrics`` adds up all workers, so one
scrape sees the whole server whichever worker answers it. The variable must be set
before this module is first imported, and the folder emptied when the server starts.
"""

from __future__ import annotations

import time
from asyncio import CancelledError
from types import TracebackType
from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from bugfixer.observability import logs
from bugfixer.observability.multiprocess import multiprocess_dir

# Any other method would let a client mint label values at will.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

HTTP_REQUESTS = Counter(
    "bugfixer_http_requests_total",
    "HTTP requests answered, by route template.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "bugfixer_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response.",
    ["route"],
)
FIXES = Counter(
    "bugfixer_fixes_total",
    "Fix requests that reached a provider: fixed, no_fix (answered without a verified "
    "fix) or failed (provider error or client gone; nothing charged).",
    ["provider", "outcome"],
)
QUOTA_REFUSALS = Counter(
    "bugfixer_quota_refusals_total", "Fixes refused because the free fixes were used up."
)
LLM_REQUESTS = Counter(
    "bugfixer_llm_requests_total",
    "Requests to the fix provider: ok, error or canceled.",
    ["provider", "model", "outcome"],
)
LLM_DURATION = Histogram(
    "bugfixer_llm_request_duration_seconds",
    "Time for the provider's whole answer.",
    ["provider", "model"],
    buckets=LLM_BUCKETS,
)
LLM_TOKENS = Counter(
    "bugfixer_llm_tokens_total",
    "Tokens the provider reported: kind is prompt or completion.",
    ["provider", "model", "kind"],
)
WEBHOOK_EVENTS = Counter(
    "bugfixer_webhook_events_total",
    "Verified Stripe webhook deliveries: processed, duplicate, ignored or failed.",
    ["type", "outcome"],
)
CHECKOUTS = Counter(
    "bugfixer_checkouts_total",
    "Stripe Checkout sessions: started, or completed (first webhook saying so).",
    ["plan", "outcome"],
)

# Label lookups take a lock and build a tuple; the hot path reuses the children.
_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record_http(method: str, route: str, status: int, seconds: float) -> None:
    if method not in HTTP_METHODS:
        method = "OTHER"
    key = (method, route, status)
    children = _http_children.get(key)
    if children is None:
        children = _http_children[key] = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(route),
        )
    children[0].inc()
    children[1].observe(seconds)


def record_fix(provider: str, outcome: str) -> None:
    FIXES.labels(provider, outcome).inc()


def record_quota_refusal() -> None:
    QUOTA_REFUSALS.inc()


def record_webhook_event(event_type: str, outcome: str) -> None:
    WEBHOOK_EVENTS.labels(event_type, outcome).inc()


def record_checkout(plan: str, outcome: str) -> None:
    CHECKOUTS.labels(plan, outcome).inc()


class _Reply(Protocol):
    prompt_tokens: int
    completion_tokens: int


class LlmCall:
    """Times one provider request; counts its outcome and tokens (and notes them for the log).

    ``with LlmCall(name, model) as call: reply = call.answered(await ...)``. Leaving the
    block by an exception counts an error; by cancellation or a closed stream, canceled.
    """

    __slots__ = ("model", "provider", "started")

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model

    def __enter__(self) -> LlmCall:
        self.started = time.perf_counter()
        return self

    def answered(self, reply: Any) -> Any:
        """Count the reply's tokens; returns the reply."""
        prompt, completion = reply.prompt_tokens or 0, reply.completion_tokens or 0
        if prompt:
            LLM_TOKENS.labels(self.provider, self.model, "prompt").inc(prompt)
        if completion:
            LLM_TOKENS.labels(self.provider, self.model, "completion").inc(completion)
        logs.add_tokens(prompt, completion)
        return reply

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            outcome = "ok"
        elif issubclass(exc_type, GeneratorExit | CancelledError):
            outcome = "canceled"
        else:
            outcome = "error"
        LLM_REQUESTS.labels(self.provider, self.model, outcome).inc()
        LLM_DURATION.labels(self.provider, self.model).observe(time.perf_counter() - self.started)
        logs.note(provider=self.provider, model=self.model)


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """The body and its content type (as the scraper's Accept asks), for every worker."""
    encode, content_type = choose_encoder(accept)  # type: ignore[arg-type]
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return encode(registry), content_type
    return encode(REGISTRY), content_type
