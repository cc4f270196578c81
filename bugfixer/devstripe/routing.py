"""The REST route registry and what every endpoint shares: lists and ``expand[]``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .objects import list_object
from .params import StripeError, as_int, as_list, invalid
from .store import Tx

Handler = Callable[..., dict[str, Any]]
ROUTES: list[tuple[str, str, Handler]] = []

# Fields that exist only when expanded (not ids in the default response).
VIRTUAL: dict[tuple[str, str], Callable[[Tx, dict[str, Any]], Any]] = {}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register ``handler(tx, params, **path_params) -> dict`` for ``method path``."""

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, path, handler))
        return handler

    return register


def virtual(type_: str, field: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(builder: Callable[..., Any]) -> Callable[..., Any]:
        VIRTUAL[(type_, field)] = builder
        return builder

    return register


def paginate(params: dict[str, Any], url: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Stripe list page of ``items`` (already newest first)."""
    limit = as_int(params.get("limit", 10), "limit", minimum=1)
    if limit > 100:
        raise invalid("limit", "Invalid limit: must be at most 100")
    ids = [item["id"] for item in items]
    for cursor in ("starting_after", "ending_before"):
        value = params.get(cursor)
        if value and value not in ids:
            raise StripeError(
                400, f"No such object: '{value}'", code="resource_missing", param=cursor
            )
    if params.get("starting_after"):
        items = items[ids.index(params["starting_after"]) + 1 :]
    elif params.get("ending_before"):
        before = items[: ids.index(params["ending_before"])]
        return list_object(url, before[-limit:], len(before) > limit)
    return list_object(url, items[:limit], len(items) > limit)


def created_matches(params: dict[str, Any], created: int, field: str = "created") -> bool:
    """``created=N`` or ``created[gt|gte|lt|lte]=N`` filters."""
    condition = params.get(field)
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return created == as_int(condition, field)
    checks = {
        "gt": lambda bound: created > bound,
        "gte": lambda bound: created >= bound,
        "lt": lambda bound: created < bound,
        "lte": lambda bound: created <= bound,
    }
    for op, value in condition.items():
        if op not in checks:
            raise invalid(f"{field}[{op}]", f"Invalid {field} filter: {op}")
        if not checks[op](as_int(value, f"{field}[{op}]")):
            return False
    return True


def expand(tx: Tx, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    paths = [str(path) for path in as_list(params, "expand")]
    if not paths:
        return obj
    obj = copy.deepcopy(obj)
    for path in paths:
        if path.count(".") > 3:
            raise invalid("expand", f"You cannot expand more than 4 levels of a property ({path}).")
        _expand(tx, obj, path.split("."), path)
    return obj


def _expand(tx: Tx, node: Any, parts: list[str], path: str) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head == "data" and node.get("object") == "list":
        for item in node["data"]:
            _expand(tx, item, rest, path)
        return
    builder = VIRTUAL.get((node.get("object", ""), head))
    if builder is not None:
        node[head] = builder(tx, node)
    elif head not in node:
        raise invalid("expand", f"This property cannot be expanded ({head}).")
    value = node[head]
    if isinstance(value, str):
        target = tx.get(value)
        if target is None:
            raise invalid("expand", f"This property cannot be expanded ({head}).")
        node[head] = value = target
    if isinstance(value, dict):
        _expand(tx, value, rest, path)
