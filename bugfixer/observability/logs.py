"""Log lines for people (text, the default) or for log shippers (one JSON object per line).

Every record carries the id of the request it was written for. What only the code deep
in a request knows (provider, model, tokens) is noted on the request with ``note`` and
lands on that request's access-log line.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# The access-log fields of the request being served (None outside a request).
request_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)

# An access line's message already says these.
_SAID = frozenset({"method", "route", "status", "duration_ms"})
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def note(**fields: Any) -> None:
    """Put fields on the current request's access-log line."""
    current = request_fields.get()
    if current is not None:
        current.update(fields)


def add_tokens(prompt: int, completion: int) -> None:
    """Count LLM tokens towards the current request (a fix may ask twice)."""
    current = request_fields.get()
    if current is not None:
        current["prompt_tokens"] = current.get("prompt_tokens", 0) + prompt
        current["completion_tokens"] = current.get("completion_tokens", 0) + completion


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class TextFormatter(logging.Formatter):
    """The classic one-line format; an access line's fields follow as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            extra = [f"{k}={v}" for k, v in fields.items() if v is not None and k not in _SAID]
            if extra:
                line += " " + " ".join(extra)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if fields:
            entry.update((k, v) for k, v in fields.items() if v is not None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, fmt: str = "text") -> None:
    """One handler on the root logger (stderr); calling again changes level and format."""
    root = logging.getLogger()
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler = next((h for h in root.handlers if getattr(h, "_bugfixer", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        handler._bugfixer = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(formatter)
    root.setLevel(level)
    # The HTTP client logs every LLM request at INFO; the access log and metrics cover them.
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
