"""``None`` where a value was expected: a function without ``return``, or the result
of a method such as ``.sort()`` that changes a list in place and returns nothing."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, is_call
from bugfixer.fixing.builtin.runtime import handles

IN_PLACE = ("sort", "reverse", "append", "extend", "insert", "remove", "clear", "update")
IN_PLACE += ("add", "discard", "shuffle")
MAX_RETURNS = 3


def _returns_value(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    todo: list[ast.AST] = list(func.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _results(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Names the function computes, the likeliest answer first (assigned last at the top)."""
    params = {a.arg for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    names: list[str] = []
    for stmt in func.body:
        targets: list[ast.AST] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AugAssign | ast.AnnAssign):
            targets = [stmt.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id not in params:
                names = [n for n in names if n != target.id] + [target.id]
    for node in ast.walk(func):
        if isinstance(node, ast.AugAssign) and getattr(node.target, "id", None) in names:
            names = [n for n in names if n != node.target.id] + [node.target.id]
    return list(reversed(names))


def _callees(ctx: RunCtx) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """User functions whose result is used on the failing line, directly or through a name."""
    names = {n.id for n in ctx.on_line(ast.Name)}
    called = {c.func.id for c in ctx.on_line(ast.Call) if isinstance(c.func, ast.Name)}
    for node in ast.walk(ctx.tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in names for t in node.targets)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        ):
            called.add(node.value.func.id)
    found = []
    for name in sorted(called):
        defs = ctx.functions(name)
        if len(defs) == 1 and not _returns_value(defs[0]):
            found.append(defs[0])
    return found


def _missing_return(ctx: RunCtx) -> Iterator[Candidate]:
    for func in _callees(ctx):
        last = func.body[-1]
        options = _results(func)[:MAX_RETURNS]
        if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call | ast.Constant):
            # ``s / len(nums)`` on its own line: computed, then thrown away.
            yield ctx.candidate(
                ctx.replace_statement(last, [f"return {ctx.seg(last.value)}"]),
                "missing_return",
                f"`{func.name}()` computes `{ctx.shown(last.value)}` but never returns it, so "
                "calling it gives `None`; it needs `return` in front.",
            )
        if (
            isinstance(last, ast.Expr)
            and is_call(last.value, "print")
            and len(last.value.args) == 1
            and not last.value.keywords
        ):
            options.insert(0, ctx.seg(last.value.args[0]))
        for rank, value in enumerate(options[:MAX_RETURNS]):
            yield ctx.candidate(
                ctx.insert_after(last, [f"return {value}"]),
                "missing_return",
                f"`{func.name}()` never says `return`, so calling it gives `None`, and `None` "
                f"can't be used as a value; I made it return `{value}`.",
                tier=rank,
            )


def _in_place_results(ctx: RunCtx) -> Iterator[Candidate]:
    names = {n.id for n in ctx.on_line(ast.Name)}
    for node in ast.walk(ctx.tree):
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in names
            and is_call(node.value, *IN_PLACE)
            and isinstance(node.value.func, ast.Attribute)
        ):
            continue
        name, call = node.targets[0].id, node.value
        method, owner = call.func.attr, ctx.seg(call.func.value)
        target = owner if method != "shuffle" or not call.args else ctx.seg(call.args[0])
        if method == "sort" and not call.args:
            keywords = "".join(f", {ctx.seg(k)}" for k in call.keywords)
            new = [f"{name} = sorted({owner}{keywords})"]
        else:
            new = [ctx.seg(call)] + ([f"{name} = {target}"] if name != target else [])
        yield ctx.candidate(
            ctx.replace_statement(node, new),
            "in_place_result",
            f"`.{method}()` changes `{target}` in place and returns `None`, so `{name}` "
            f"ended up as `None`; call it on its own line and use `{target}` afterwards.",
        )


@handles("TypeError", "AttributeError")
def none_value(ctx: RunCtx) -> Iterator[Candidate]:
    if "NoneType" not in ctx.failure.message:
        return
    yield from _in_place_results(ctx)
    yield from _missing_return(ctx)
    for call in ctx.on_line(ast.Call):
        if is_call(call, "sort") and isinstance(call.func, ast.Attribute) and not call.args:
            parent = ctx.parent.get(call)
            if isinstance(parent, ast.Expr):
                continue
            keywords = "".join(f", {ctx.seg(k)}" for k in call.keywords)
            yield ctx.candidate(
                ctx.replace(call, f"sorted({ctx.seg(call.func.value)}{keywords})"),
                "in_place_result",
                "`.sort()` sorts the list in place and returns `None`; `sorted(...)` returns "
                "the sorted list.",
            )
