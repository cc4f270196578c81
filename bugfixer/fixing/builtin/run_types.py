"""Values of the wrong type: text mixed with numbers, numbers used as lists, and so on."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, is_call, literal_str
from bugfixer.fixing.builtin.runtime import handles

_OPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_NUMBERS = ("int", "float")
_LIST_LIKE = ("dict_keys", "dict_values", "dict_items", "set", "map", "filter", "zip")
_LIST_LIKE += ("generator", "reversed", "frozenset", "enumerate")


def _operations(ctx: RunCtx, symbol: str) -> list[tuple[ast.AST, ast.AST, ast.AST]]:
    """``(node, left, right)`` of each ``symbol`` operation (or ``symbol=``) on the line."""
    found: list[tuple[ast.AST, ast.AST, ast.AST]] = []
    for node in ctx.on_line(ast.BinOp, ast.AugAssign):
        if _OPS.get(type(node.op)) == symbol.rstrip("="):
            if isinstance(node, ast.BinOp) and not symbol.endswith("="):
                found.append((node, node.left, node.right))
            elif isinstance(node, ast.AugAssign):
                found.append((node, node.target, node.value))
    return found


def _convert(ctx: RunCtx, node: ast.AST, func: str, why: str, tier: int = 0) -> Candidate:
    shown = ctx.shown(node)
    return ctx.candidate(
        ctx.wrap(node, f"{func}(", ")"),
        "mixed_types",
        f"{why}, so I converted `{shown}` with `{func}({shown})`.",
        tier,
    )


def _is_text(node: ast.AST) -> bool:
    return literal_str(node) is not None or isinstance(node, ast.JoinedStr)


@handles("TypeError")
def text_and_numbers(ctx: RunCtx) -> Iterator[Candidate]:
    """``"Age: " + 30``, ``total + "5"``, ``"10" - "4"``, ``"3" < 5``."""
    concat = ctx.match(r'can only concatenate str \(not "(\w+)"\) to str')
    operand = ctx.match(r"unsupported operand type\(s\) for ([^:]+): '(\w+)' and '(\w+)'")
    compare = ctx.match(r"'([<>=!]+)' not supported between instances of '(\w+)' and '(\w+)'")
    if concat:
        yield from _joined_to_text(ctx, concat.group(1))
    elif operand and "str" in operand.groups()[1:] and "NoneType" not in operand.groups():
        yield from _arithmetic_on_text(ctx, operand.group(1).strip(), *operand.groups()[1:])
    elif compare and set(compare.groups()[1:]) in ({"str", "int"}, {"str", "float"}):
        number = "float" if "float" in compare.groups() else "int"
        for node in ctx.on_line(ast.Compare):
            for side in [node.left, *node.comparators]:
                if not isinstance(side, ast.Constant):
                    why = "text and numbers can't be compared with `<` or `>`"
                    yield _convert(ctx, side, number, why)


def _joined_to_text(ctx: RunCtx, other: str) -> Iterator[Candidate]:
    why = "`+` can join text to text only, not to a number"
    for node, left, right in _operations(ctx, "+") + _operations(ctx, "+="):
        # ``age_text + 1``: nobody writes ``str(1)``; the number in the text is meant.
        counting = isinstance(right, ast.Constant) and type(right.value) in (int, float)
        if not _is_text(right):
            yield _convert(ctx, right, "str", why, tier=1 if counting else 0)
        if other in _NUMBERS and not _is_text(left) and isinstance(node, ast.BinOp):
            yield _convert(ctx, left, other, "the text holds a number", tier=0 if counting else 1)


def _arithmetic_on_text(
    ctx: RunCtx, symbol: str, left_type: str, right_type: str
) -> Iterator[Candidate]:
    ops = _operations(ctx, symbol)
    if left_type == right_type == "str":
        why = f"`{symbol}` needs numbers, but both sides are text"
        for rank, func in enumerate(("int", "float")):
            for _, left, right in ops:
                code = ctx.edit(
                    (ctx.start(left), ctx.start(left), f"{func}("),
                    (ctx.end(left), ctx.end(left), ")"),
                    (ctx.start(right), ctx.start(right), f"{func}("),
                    (ctx.end(right), ctx.end(right), ")"),
                )
                note = f"{why}, so I converted both with `{func}()`."
                yield ctx.candidate(code, "mixed_types", note, rank)
        return
    # ``1 + " apples"`` is building text; ``total + extra`` is more likely arithmetic.
    words = any(_is_text(n) for op in ops for n in op[1:])
    for _, left, right in ops:
        pairs = ((left, left_type, right_type), (right, right_type, left_type))
        for side, side_type, other_type in pairs:
            if side_type == "str" and not _is_text(side):
                order = ["float", "int"] if other_type == "float" else ["int", "float"]
                why = f"`{symbol}` needs two numbers, but `{ctx.shown(side)}` is text"
                for rank, func in enumerate(order):
                    yield _convert(ctx, side, func, why, tier=rank + (1 if words else 0))
            elif side_type in _NUMBERS and symbol.startswith("+"):
                why = "`+` can't join text and a number"
                yield _convert(ctx, side, "str", why, tier=0 if words else 1)


@handles("TypeError")
def sequence_times_float(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"can't multiply sequence by non-int of type '(\w+)'")
    if not match:
        return
    func = "float" if match.group(1) == "float" else "int"
    for _, left, right in _operations(ctx, "*"):
        for side in (left, right):
            if not isinstance(side, ast.Constant) or isinstance(side.value, str):
                why = "`*` with text repeats the text; to multiply numbers both must be numbers"
                yield _convert(ctx, side, func, why)


@handles("TypeError")
def list_plus_item(ctx: RunCtx) -> Iterator[Candidate]:
    """``items + 4`` or ``items += 4``: only a list can be added to a list."""
    concat = ctx.match(r'can only concatenate list \(not "(\w+)"\) to list')
    iterable = ctx.match(r"'(int|float|bool|NoneType)' object is not iterable")
    if concat:
        for _, _, right in _operations(ctx, "+"):
            yield ctx.candidate(
                ctx.wrap(right, "[", "]"),
                "list_plus_item",
                "`+` joins two lists; to add one item, put it in a list of its own "
                f"(`[{ctx.shown(right)}]`) or use `.append()`.",
            )
    if concat or iterable:
        for node, target, value in _operations(ctx, "+="):
            yield ctx.candidate(
                ctx.replace(node, f"{ctx.seg(target)}.append({ctx.seg(value)})"),
                "list_plus_item",
                f"`{ctx.shown(node)}` adds a whole list to a list; to add one item use "
                f"`.append({ctx.shown(value)})`.",
            )


@handles("TypeError")
def number_is_not_iterable(ctx: RunCtx) -> Iterator[Candidate]:
    """``for i in len(items)`` or ``for i in 10``: a number has to go through ``range``."""
    if not ctx.match(r"'(int|float)' object is not iterable"):
        return
    loops = [n for n in ctx.on_line(ast.For, ast.comprehension)]
    loops += [
        g for n in ctx.on_line(ast.ListComp, ast.SetComp, ast.GeneratorExp) for g in n.generators
    ]
    for loop in loops:
        if is_call(loop.iter, "range", "enumerate", "zip"):
            continue
        yield ctx.candidate(
            ctx.wrap(loop.iter, "range(", ")"),
            "number_not_iterable",
            f"a `for` loop needs something to go through, and `{ctx.shown(loop.iter)}` is a "
            f"single number; `range({ctx.shown(loop.iter)})` counts from 0 up to it.",
        )


@handles("TypeError")
def number_is_not_subscriptable(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"'(\w+)' object is not subscriptable")
    if not match:
        return
    kind = match.group(1)
    for sub in ctx.on_line(ast.Subscript):
        value = sub.value
        if kind in ("int", "float"):
            yield ctx.candidate(
                ctx.wrap(value, "str(", ")"),
                "not_subscriptable",
                f"a number has no positions; to pick out its digits, turn it into text first "
                f"(`str({ctx.shown(value)})`).",
                tier=1,
            )
        elif kind in _LIST_LIKE:
            yield ctx.candidate(
                ctx.wrap(value, "list(", ")"),
                "not_subscriptable",
                f"`{ctx.shown(value)}` gives a {kind} view, which can't be indexed; "
                f"`list({ctx.shown(value)})` makes a list that can.",
            )
        elif kind in ("function", "method", "builtin_function_or_method"):
            yield ctx.candidate(
                ctx.edit(
                    (ctx.end(value), ctx.start(sub.slice), "("),
                    (ctx.end(sub.slice), ctx.end(sub), ")"),
                ),
                "not_subscriptable",
                f"`{ctx.shown(value)}` is a function: call it with round brackets "
                f"`( )`, not square ones.",
            )


@handles("TypeError")
def index_of_wrong_type(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(
        r"(?:list|tuple|string) indices must be integers(?: or slices)?, not '?(\w+)'?"
    )
    if not match:
        return
    for sub in ctx.on_line(ast.Subscript):
        index = sub.slice
        for loop in ctx.loops_of(sub):
            target, it = getattr(loop, "target", None), getattr(loop, "iter", None)
            if (
                isinstance(target, ast.Name)
                and isinstance(index, ast.Name)
                and index.id == target.id
                and it is not None
                and ast.dump(it) == ast.dump(sub.value)
            ):
                yield ctx.candidate(
                    ctx.replace(sub, target.id),
                    "loop_item_as_index",
                    f"`for {target.id} in {ctx.shown(it)}` already gives you each item, not its "
                    f"position, so use `{target.id}` directly instead of `{ctx.shown(sub)}`.",
                )
        if isinstance(index, ast.BinOp) and isinstance(index.op, ast.Div):
            yield ctx.candidate(
                ctx.edit((ctx.end(index.left), ctx.start(index.right), " // ")),
                "index_of_wrong_type",
                "`/` always gives a decimal number, which can't be a position; `//` divides "
                "and keeps a whole number.",
            )
        elif not isinstance(index, ast.Slice):
            why = (
                f"a position must be a whole number, but `{ctx.shown(index)}` is a {match.group(1)}"
            )
            yield _convert(ctx, index, "int", why, tier=1)


@handles("TypeError")
def not_an_integer(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"'(str|float)' object cannot be interpreted as an integer")
    if not match:
        return
    for call in ctx.on_line(ast.Call):
        if not is_call(call, "range", "chr", "bin", "hex", "oct"):
            continue
        for arg in call.args:
            if isinstance(arg, ast.Constant) and type(arg.value) is int:
                continue
            if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Div):
                yield ctx.candidate(
                    ctx.edit((ctx.end(arg.left), ctx.start(arg.right), " // ")),
                    "not_an_integer",
                    "`/` always gives a decimal number, but `range()` needs whole numbers; "
                    "`//` divides and keeps a whole number.",
                )
            why = (
                f"`{ctx.shown(call.func)}()` needs a whole number, and `{ctx.shown(arg)}` "
                f"is a {match.group(1)}"
            )
            yield _convert(ctx, arg, "int", why)


@handles("TypeError")
def length_of_number(ctx: RunCtx) -> Iterator[Candidate]:
    if not ctx.match(r"object of type '(int|float)' has no len\(\)"):
        return
    for call in ctx.on_line(ast.Call):
        if is_call(call, "len") and len(call.args) == 1:
            arg = call.args[0]
            yield ctx.candidate(
                ctx.wrap(arg, "str(", ")"),
                "length_of_number",
                f"a number has no length; to count its digits, measure it as text: "
                f"`len(str({ctx.shown(arg)}))`.",
            )


@handles("TypeError")
def join_numbers(ctx: RunCtx) -> Iterator[Candidate]:
    if not ctx.match(r"sequence item \d+: expected str instance, (\w+) found"):
        return
    for call in ctx.on_line(ast.Call):
        if is_call(call, "join") and isinstance(call.func, ast.Attribute) and len(call.args) == 1:
            arg = call.args[0]
            yield ctx.candidate(
                ctx.replace(arg, f"map(str, {ctx.seg(arg)})"),
                "join_numbers",
                "`.join()` only joins text; `map(str, ...)` turns each item into text first.",
            )


@handles("TypeError")
def immutable_item_assignment(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"'(str|tuple)' object does not support item assignment")
    stmt = ctx.statement
    if not match or not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return
    target = stmt.targets[0]
    if not isinstance(target, ast.Subscript) or isinstance(target.slice, ast.Slice):
        return
    name, index = ctx.seg(target.value), ctx.seg(target.slice)
    if match.group(1) == "str":
        constant = isinstance(target.slice, ast.Constant) and type(target.slice.value) is int
        after = str(target.slice.value + 1) if constant else f"{index} + 1"
        before = "" if constant and target.slice.value == 0 else f"{name}[:{index}] + "
        new = f"{name} = {before}{ctx.seg(stmt.value)} + {name}[{after}:]"
        yield ctx.candidate(
            ctx.replace(stmt, new),
            "immutable_item_assignment",
            "text can't be changed in place in Python; build a new string from the parts "
            "before and after the position instead.",
        )
        return
    if isinstance(target.value, ast.Name):
        for code in tuple_to_list(ctx, name):
            yield ctx.candidate(
                code,
                "immutable_item_assignment",
                f"`{name}` is a tuple, and tuples can't be changed after they are made; "
                "a list (square brackets) can.",
            )


def tuple_to_list(ctx: RunCtx, name: str) -> Iterator[str]:
    """The program with the tuple literal bound to ``name`` written as a list."""
    for node in ast.walk(ctx.tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Tuple)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ):
            items = ", ".join(ctx.seg(item) for item in node.value.elts)
            yield ctx.replace(node.value, f"[{items}]")


@handles("TypeError")
def unhashable(ctx: RunCtx) -> Iterator[Candidate]:
    """A list used as a dictionary key or set item: a tuple holds the same and can be."""
    match = ctx.match(r"unhashable type: '(list|set)'")
    if not match:
        return
    func = "tuple" if match.group(1) == "list" else "frozenset"
    why = (
        f"a {match.group(1)} can change, so it can't be a dictionary key or a set item; "
        f"`{func}(...)` holds the same items and can"
    )
    for call in ctx.on_line(ast.Call):
        if is_call(call, "add", "count") and isinstance(call.func, ast.Attribute):
            for arg in call.args[:1]:
                yield _convert(ctx, arg, func, why)
    for sub in ctx.on_line(ast.Subscript):
        if not isinstance(sub.slice, ast.Slice):
            yield _convert(ctx, sub.slice, func, why)
