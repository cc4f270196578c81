"""Mistakes in how the program flows: dividing by an empty count, a global changed inside
a function, a dictionary changed while looping over it, recursion that never stops."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, is_call
from bugfixer.fixing.builtin.runtime import handles
from bugfixer.fixing.builtin.scopes import bindings


@handles("ZeroDivisionError")
def divide_by_empty(ctx: RunCtx) -> Iterator[Candidate]:
    for node in ctx.on_line(ast.BinOp):
        if not isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            continue
        divisor = node.right
        if isinstance(divisor, ast.Constant):
            continue
        measured = divisor.args[0] if is_call(divisor, "len") and len(divisor.args) == 1 else None
        guard = ctx.seg(measured) if measured is not None else ctx.seg(divisor)
        if isinstance(divisor, ast.BinOp | ast.BoolOp | ast.Compare):
            guard = f"({guard})"
        new = f"({ctx.seg(node)} if {guard} else 0)"
        reason = (
            f"`{ctx.shown(measured)}` is empty"
            if measured is not None
            else f"`{ctx.shown(divisor)}` is 0"
        )
        yield ctx.candidate(
            ctx.replace(node, new),
            "divide_by_zero",
            f"when {reason} the division has nothing to divide by, so I made it give 0 in "
            "that case instead of crashing.",
        )
        yield from _loop_from_one(ctx, divisor)


def _loop_from_one(ctx: RunCtx, divisor: ast.AST) -> Iterator[Candidate]:
    """``for d in range(n): x % d``: the loop starts at 0, which can't be a divisor."""
    if not isinstance(divisor, ast.Name):
        return
    for loop in ctx.loops_of(divisor):
        target, it = getattr(loop, "target", None), getattr(loop, "iter", None)
        if isinstance(target, ast.Name) and target.id == divisor.id and is_call(it, "range"):
            args = it.args
            if len(args) == 1:
                new = ctx.edit((ctx.start(args[0]), ctx.start(args[0]), "1, "))
            elif len(args) >= 2 and isinstance(args[0], ast.Constant) and args[0].value == 0:
                new = ctx.replace(args[0], "1")
            else:
                continue
            yield ctx.candidate(
                new,
                "divide_by_zero",
                f"`range(...)` starts at 0, so on the first pass `{divisor.id}` is 0 and can't "
                "be divided by; the loop should start at 1.",
            )


@handles("UnboundLocalError", "NameError")
def global_assigned_in_function(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(
        r"(?:cannot access local variable|local variable|free variable) '(\w+)'"
        r"(?: where it is not associated with a value| referenced before assignment)"
    )
    if not match or ctx.statement is None:
        return
    name = match.group(1)
    func = ctx.function_of(ctx.statement)
    if func is None or name not in bindings(func):
        return
    outer = [
        up for up in ctx.ancestors(func) if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    if outer and name in bindings(outer[0]):
        keyword, where = "nonlocal", f"the enclosing function `{outer[0].name}`"
    elif name in bindings(ctx.tree):
        keyword, where = "global", "the top of the program"
    else:
        return
    first = ctx.first_body_statement(func)
    yield ctx.candidate(
        ctx.insert_before(first, [f"{keyword} {name}"]),
        "global_in_function",
        f"`{func.name}` assigns to `{name}`, which makes Python treat `{name}` as a new local "
        f"variable, separate from the one at {where}; `{keyword} {name}` says to use that one.",
    )


@handles("RuntimeError")
def changed_while_iterating(ctx: RunCtx) -> Iterator[Candidate]:
    if not ctx.match(r"(?i)(dictionary|set) changed size during iteration|keys changed during"):
        return
    loops = [*ctx.on_line(ast.For), *ctx.on_line(ast.comprehension)]
    for loop in loops:
        it = loop.iter
        if is_call(it, "list", "sorted", "tuple"):
            continue
        yield ctx.candidate(
            ctx.wrap(it, "list(", ")"),
            "changed_while_iterating",
            f"the loop changes `{ctx.shown(it)}` while going through it, which Python doesn't "
            f"allow; `list({ctx.shown(it)})` loops over a copy instead.",
        )


def _recursive_calls(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(func)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func.name
    ]


def _shrinking(
    func: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call
) -> tuple[str, str] | None:
    """``(parameter, how)`` for the argument that gets smaller each call: "count" or "slice"."""
    params = [a.arg for a in func.args.posonlyargs + func.args.args]
    for position, arg in enumerate(call.args[: len(params)]):
        param = params[position]
        if (
            isinstance(arg, ast.BinOp)
            and isinstance(arg.op, ast.Sub | ast.FloorDiv)
            and isinstance(arg.left, ast.Name)
            and arg.left.id == param
        ):
            return param, "count"
        if (
            isinstance(arg, ast.Subscript)
            and isinstance(arg.slice, ast.Slice)
            and isinstance(arg.value, ast.Name)
            and arg.value.id == param
        ):
            return param, "slice"
    return None


def _base_values(func: ast.FunctionDef | ast.AsyncFunctionDef, calls: list[ast.Call]) -> list[str]:
    """What the stopping case most likely returns, judged by how the results are combined."""
    combined = [
        n
        for n in ast.walk(func)
        if isinstance(n, ast.BinOp) and any(c in ast.walk(n) for c in calls)
    ]
    ops = {type(n.op) for n in combined}
    has_value = any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(func))
    if not has_value:
        return [""]
    if ast.Mult in ops:
        return ["1"]
    if ast.Add in ops:
        return ["0", '""', "[]"]
    return ["0", "None"]


@handles("RecursionError", "IndexError")
def recursion_without_base(ctx: RunCtx) -> Iterator[Candidate]:
    """Also an IndexError: ``items[0] + total(items[1:])`` fails once the list runs out."""
    if ctx.statement is None:
        return
    func = ctx.function_of(ctx.statement)
    if func is None:
        return
    calls = _recursive_calls(func)
    for call in calls[:1]:
        shrink = _shrinking(func, call)
        if ctx.failure.exc_type == "IndexError" and (shrink is None or shrink[1] != "slice"):
            return
        if shrink is None:
            yield from _never_shrinks(ctx, func, call)
            continue
        param, how = shrink
        yield from _loosen_base(ctx, func, param)
        if len(calls) >= 2 and how == "count":
            tests_and_values = [(f"{param} < 2", param)]
        elif how == "count":
            tests_and_values = [(f"{param} <= 0", v) for v in _base_values(func, calls)]
            tests_and_values.insert(1, (f"{param} <= 1", _base_values(func, calls)[0] or ""))
        else:
            tests_and_values = [(f"not {param}", v) for v in _base_values(func, calls)]
        first = ctx.first_body_statement(func)
        for rank, (test, value) in enumerate(tests_and_values[:3]):
            returned = f"return {value}".rstrip()
            yield ctx.candidate(
                ctx.insert_before(first, [f"if {test}:", f"{ctx.unit}{returned}"]),
                "recursion_base_case",
                f"`{func.name}` calls itself again and again and never stops, until Python "
                f"gives up; a recursive function needs a stopping case, so I added "
                f"`if {test}: {returned}`.",
                tier=rank,
            )


def _loosen_base(ctx: RunCtx, func: ast.AST, param: str) -> Iterator[Candidate]:
    """``if n == 0`` is skipped over when ``n`` goes below 0 (odd steps, negative input)."""
    for node in ast.walk(func):
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and len(node.test.ops) == 1
            and isinstance(node.test.ops[0], ast.Eq)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == param
            and isinstance(node.test.comparators[0], ast.Constant)
        ):
            test = node.test
            yield ctx.candidate(
                ctx.edit((ctx.end(test.left), ctx.start(test.comparators[0]), " <= ")),
                "recursion_base_case",
                f"the stopping case `{ctx.shown(test)}` is never met when `{param}` jumps past "
                f"it, so the recursion never ends; `<=` catches every value at or below it.",
            )


def _never_shrinks(
    ctx: RunCtx, func: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call
) -> Iterator[Candidate]:
    """``return n * fact(n)``: the call repeats the same argument, so it never gets closer."""
    params = [a.arg for a in func.args.posonlyargs + func.args.args]
    for position, arg in enumerate(call.args[: len(params)]):
        if isinstance(arg, ast.Name) and arg.id == params[position]:
            yield ctx.candidate(
                ctx.replace(arg, f"{arg.id} - 1"),
                "recursion_same_argument",
                f"`{ctx.shown(call)}` calls `{func.name}` with the same `{arg.id}` again, so it "
                f"never gets closer to the stopping case; it should be `{arg.id} - 1`.",
            )
