"""Per-request timings reported in the Server-Timing header (provider time vs ours)."""

from __future__ import annotations

from contextvars import ContextVar, Token

_timings: ContextVar[dict[str, float] | None] = ContextVar("timings", default=None)


def begin() -> Token[dict[str, float] | None]:
    return _timings.set({})


def end(token: Token[dict[str, float] | None]) -> None:
    _timings.reset(token)


def record(name: str, ms: float) -> None:
    timings = _timings.get()
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + ms


def header(total_ms: float) -> str:
    parts = [f"{name};dur={ms:.2f}" for name, ms in (_timings.get() or {}).items()]
    parts.append(f"total;dur={total_ms:.2f}")
    return ", ".join(parts)
