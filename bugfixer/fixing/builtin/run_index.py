"""Positions past the end of a list and keys a dictionary doesn't have."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, is_call, literal_str, one_edit
from bugfixer.fixing.builtin.runtime import handles

_OFF_BY_ONE = "indexes start at 0, so the last item of a sequence of length n is at position n - 1"


def _len_of(node: ast.AST | None) -> ast.AST | None:
    """``X`` when ``node`` is ``len(X)``."""
    if is_call(node, "len") and isinstance(node.func, ast.Name) and len(node.args) == 1:
        return node.args[0]
    return None


def _plus(node: ast.AST | None) -> tuple[ast.AST, int] | None:
    """``(A, k)`` when ``node`` is ``A + k`` for a small positive whole number ``k``."""
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add)
        and isinstance(node.right, ast.Constant)
        and type(node.right.value) is int
        and 0 < node.right.value < 3
    ):
        return node.left, node.right.value
    return None


def _same(ctx: RunCtx, a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def _range_fixes(ctx: RunCtx, loop: ast.AST, index: ast.AST) -> Iterator[Candidate]:
    """``for i in range(len(x) + 1)`` and friends: the loop walks one step too far."""
    target, it = getattr(loop, "target", None), getattr(loop, "iter", None)
    if not (isinstance(target, ast.Name) and is_call(it, "range")) or not it.args:
        return
    uses_var = isinstance(index, ast.Name) and index.id == target.id
    stop = it.args[-1] if len(it.args) <= 2 else it.args[1]
    sub = ctx.parent.get(index)
    if uses_var and isinstance(stop, ast.Constant) and isinstance(sub, ast.Subscript):
        length = f"len({ctx.seg(sub.value)})"
        yield ctx.candidate(
            ctx.replace(stop, length),
            "index_off_by_one",
            f"the loop counts to {ctx.shown(stop)}, but `{ctx.shown(sub.value)}` has fewer "
            f"items; `{length}` makes the loop stop at its end whatever its size.",
        )
    bumped = _plus(stop)
    if uses_var and bumped and _len_of(bumped[0]) is not None:
        yield ctx.candidate(
            ctx.replace(stop, ctx.seg(bumped[0])),
            "index_off_by_one",
            f"the loop `{ctx.shown(it)}` goes one step past the end of the list: "
            f"{_OFF_BY_ONE}, so the loop should stop at `{ctx.shown(bumped[0])}`.",
        )
        if len(it.args) == 2:
            yield ctx.candidate(
                ctx.replace(index, f"{target.id} - 1"),
                "index_off_by_one",
                f"`{target.id}` counts from 1, but {_OFF_BY_ONE}, so the item is at "
                f"`{target.id} - 1`.",
                tier=1,
            )
    shifted = _plus(index)
    if (
        shifted
        and isinstance(shifted[0], ast.Name)
        and shifted[0].id == target.id
        and _len_of(stop) is not None
    ):
        yield ctx.candidate(
            ctx.replace(stop, f"{ctx.seg(stop)} - {shifted[1]}"),
            "index_off_by_one",
            f"`{ctx.shown(index)}` looks {shifted[1]} ahead, so on the last pass of the loop it "
            f"points past the end; the loop has to stop {shifted[1]} earlier.",
        )


def _while_fixes(ctx: RunCtx, loop: ast.While) -> Iterator[Candidate]:
    test = loop.test
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.LtE)
        and _len_of(test.comparators[0]) is not None
    ):
        new = f"{ctx.seg(test.left)} < {ctx.seg(test.comparators[0])}"
        yield ctx.candidate(
            ctx.replace(test, new),
            "index_off_by_one",
            f"`while {ctx.shown(test)}` lets the position reach the length itself, but "
            f"{_OFF_BY_ONE}; use `<` instead of `<=`.",
        )


@handles("IndexError")
def index_past_end(ctx: RunCtx) -> Iterator[Candidate]:
    if not ctx.match(r"index out of range"):
        return
    for sub in ctx.on_line(ast.Subscript):
        index = sub.slice
        if isinstance(index, ast.Constant) and type(index.value) is int and index.value >= 1:
            yield ctx.candidate(
                ctx.replace(index, str(index.value - 1)),
                "index_off_by_one",
                f"positions start at 0, so item number {index.value} is at position "
                f"{index.value - 1}, and `{ctx.shown(sub)}` is past the end.",
                tier=1,
            )
        inner = _len_of(index)
        if inner is not None:
            yield ctx.candidate(
                ctx.replace(index, f"{ctx.seg(index)} - 1"),
                "index_off_by_one",
                f"`{ctx.shown(sub)}` asks for the item after the last one: {_OFF_BY_ONE}. "
                f"To get the last item write `{ctx.seg(sub.value)}[-1]` or "
                f"`{ctx.seg(sub.value)}[{ctx.seg(index)} - 1]`.",
            )
        for loop in ctx.loops_of(sub):
            if isinstance(loop, ast.While):
                yield from _while_fixes(ctx, loop)
            else:
                yield from _range_fixes(ctx, loop, index)
        if isinstance(ctx.statement, ast.If | ast.While):
            yield from _while_fixes(ctx, ctx.statement)  # type: ignore[arg-type]


def _known_keys(ctx: RunCtx) -> list[str]:
    """String keys the program puts in dictionaries, in order of appearance."""
    keys: list[str] = []
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Dict):
            keys += [k for k in map(literal_str, node.keys) if k is not None]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            key = literal_str(node.slice)
            keys += [key] if key is not None else []
        elif is_call(node, "dict"):
            keys += [kw.arg for kw in node.keywords if kw.arg]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            keys += re.findall(r"[\"']([^\"'\n]{1,40})[\"']\s*:", node.value)
    return list(dict.fromkeys(keys))


def _missing_key(ctx: RunCtx) -> object:
    try:
        return ast.literal_eval(ctx.failure.message)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


@handles("KeyError")
def misspelled_key(ctx: RunCtx) -> Iterator[Candidate]:
    missing = _missing_key(ctx)
    if not isinstance(missing, str):
        return
    keys = [k for k in _known_keys(ctx) if k != missing]
    close = [k for k in keys if k.lower() == missing.lower()]
    close += [k for k in keys if len(missing) >= 3 and one_edit(k.lower(), missing.lower())]
    if not close:
        return
    fixed = close[0]
    literals = [
        node
        for node in ast.walk(ctx.tree)
        if isinstance(node, ast.Constant) and node.value == missing
    ]
    # The key is written on the failing line, or once elsewhere (``phone_of("ann")``
    # calling a function that looks it up).
    on_line = [node for node in literals if node.lineno == ctx.line]
    for node in on_line or (literals if len(literals) == 1 else []):
        quoted = ctx.seg(node)
        yield ctx.candidate(
            ctx.replace(node, quoted.replace(missing, fixed, 1)),
            "misspelled_key",
            f"the dictionary has no key {missing!r}, but it has {fixed!r}: keys must match "
            "exactly, including upper and lower case.",
        )
    same_case = all(k == k.lower() for k in keys) and missing != missing.lower()
    for sub in ctx.on_line(ast.Subscript):
        if same_case and not isinstance(sub.slice, ast.Constant):
            yield ctx.candidate(
                ctx.replace(sub.slice, f"{ctx.seg(sub.slice)}.lower()"),
                "misspelled_key",
                f"the key {missing!r} is looked up with capitals, but every key in the "
                "dictionary is lower case, so I lower-cased the key before the lookup.",
                tier=1,
            )


@handles("KeyError")
def count_missing_key(ctx: RunCtx) -> Iterator[Candidate]:
    """``counts[word] += 1`` the first time ``word`` is seen: start it from zero."""
    stmt = ctx.statement
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Subscript):
        target, key = ctx.seg(stmt.target.value), ctx.seg(stmt.target.slice)
        op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}.get(type(stmt.op))
        if op is None:
            return
        start = "1" if op == "*" else "0"
        if isinstance(stmt.value, ast.List | ast.ListComp):
            start = "[]"
        elif isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            start = '""'
        new = f"{target}[{key}] = {target}.get({key}, {start}) {op} {ctx.seg(stmt.value)}"
        yield ctx.candidate(
            ctx.replace(stmt, new),
            "count_missing_key",
            f"`{ctx.shown(stmt)}` needs the key to exist already; the first time a key is "
            f"seen it isn't there, so `.get({key}, {start})` starts it from {start}.",
        )
    for call in ctx.on_line(ast.Call):
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("append", "add", "extend")
            and isinstance(func.value, ast.Subscript)
        ):
            sub = func.value
            empty = "set()" if func.attr == "add" else "[]"
            new = f"{ctx.seg(sub.value)}.setdefault({ctx.seg(sub.slice)}, {empty})"
            yield ctx.candidate(
                ctx.replace(sub, new),
                "count_missing_key",
                f"`{ctx.shown(sub)}` doesn't exist yet the first time that key is used; "
                f"`.setdefault(key, {empty})` creates it before `.{func.attr}()`.",
            )
