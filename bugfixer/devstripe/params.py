"""Stripe's wire format: bracketed form parameters in, Stripe-shaped errors out."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


class StripeError(Exception):
    """An API error rendered as Stripe's ``{"error": {...}}`` body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str) -> StripeError:
    return StripeError(400, message, code="parameter_invalid", param=param)


def no_such(kind: str, object_id: str, *, param: str | None = None) -> StripeError:
    """404 for a path id, 400 for an id named in a parameter, as Stripe does."""
    return StripeError(
        400 if param else 404,
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param or "id",
    )


def parse_params(query: str) -> dict[str, Any]:
    """``a[b][0][c]=v&e[]=x`` → ``{"a": {"b": [{"c": "v"}]}, "e": ["x"]}``."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(query, keep_blank_values=True):
        head, _, rest = raw_key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        node: dict[str, Any] = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def as_list(params: dict[str, Any], name: str) -> list[Any]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return [value]


def as_int(value: Any, param: str, *, minimum: int | None = None) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise invalid(param, f"Invalid integer: {value}") from None
    if minimum is not None and number < minimum:
        raise invalid(param, f"Invalid {param}: must be at least {minimum}")
    return number


def as_bool(value: Any, param: str) -> bool:
    text = str(value).lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0", ""}:
        return False
    raise invalid(param, f"Invalid boolean: {value}")


def as_str(value: Any, param: str) -> str | None:
    """Stripe clears optional strings sent as empty values."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(param, f"Invalid string: {param} must be a string")
    return value


def require(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise missing(name)
    return value


def merge_metadata(current: dict[str, str] | None, update: Any) -> dict[str, str]:
    """Merge like Stripe: empty value deletes a key, ``metadata=""`` clears all."""
    merged = dict(current or {})
    if update == "":
        return {}
    if isinstance(update, list):  # numeric keys were read as a list
        update = {str(index): value for index, value in enumerate(update)}
    if not isinstance(update, dict):
        raise invalid("metadata", "Invalid metadata: must be a hash of key/value pairs")
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[str(key)] = str(value)
    return merged
