"""Off-by-one logic that only a test can catch: ``range(1, n)`` that should include ``n``.

With no error message to go on, these rules try the classic boundary slips in the
functions the user's test calls -- a loop bound one short, ``<`` for ``<=`` -- and let
the test decide. Without a test nothing here ever runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, is_call
from bugfixer.fixing.builtin.runtime import handles

MAX_MUTATIONS = 8
_FLIPS = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">"}
_SHOWN = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _scopes(ctx: RunCtx) -> list[ast.AST]:
    """The functions the test calls, or the whole program if it defines none."""
    called = set(re.findall(r"\b(\w+)\s*\(", ctx.test))
    funcs = [
        n
        for n in ast.walk(ctx.tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name in called
    ]
    return funcs or [ctx.tree]


def _range_bounds(ctx: RunCtx, scope: ast.AST) -> Iterator[Candidate]:
    for node in ast.walk(scope):
        if not is_call(node, "range") or not isinstance(node.func, ast.Name) or not node.args:
            continue
        stop = node.args[0] if len(node.args) == 1 else node.args[1]
        shown = ctx.shown(node)
        if isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Sub) and _is_one(stop.right):
            yield ctx.candidate(
                ctx.replace(stop, ctx.seg(stop.left)),
                "loop_bound",
                f"`{shown}` stops one step too early for what your test expects; the `- 1` "
                "is not needed because `range` already stops before its end.",
            )
        else:
            yield ctx.candidate(
                ctx.replace(stop, f"{ctx.seg(stop)} + 1"),
                "loop_bound",
                f"`{shown}` stops just before `{ctx.shown(stop)}`, but your test expects "
                f"`{ctx.shown(stop)}` itself to be included, so the end must be one more.",
            )
        if len(node.args) >= 2 and _is_one(node.args[0]):
            yield ctx.candidate(
                ctx.replace(node.args[0], "0"),
                "loop_bound",
                f"`{shown}` starts at 1 and skips the first item (position 0).",
                tier=1,
            )


def _is_one(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == 1


def _comparisons(ctx: RunCtx, scope: ast.AST) -> Iterator[Candidate]:
    for node in ast.walk(scope):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        op = type(node.ops[0])
        if op not in _FLIPS:
            continue
        new = f"{ctx.seg(node.left)} {_FLIPS[op]} {ctx.seg(node.comparators[0])}"
        yield ctx.candidate(
            ctx.replace(node, new),
            "comparison_boundary",
            f"`{ctx.shown(node)}` gets the boundary case wrong for your test: with "
            f"`{_FLIPS[op]}` instead of `{_SHOWN[op]}` the value at the limit counts too.",
            tier=1,
        )


@handles("AssertionError")
def off_by_one(ctx: RunCtx) -> Iterator[Candidate]:
    if not ctx.test:
        return
    found: list[Candidate] = []
    for scope in _scopes(ctx):
        found += _range_bounds(ctx, scope)
        found += _comparisons(ctx, scope)
    yield from found[:MAX_MUTATIONS]
