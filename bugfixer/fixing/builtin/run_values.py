"""Values with the wrong content: conversions, unpacking, format strings and JSON text."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, is_call, literal_str
from bugfixer.fixing.builtin.kinds import name_kinds
from bugfixer.fixing.builtin.runtime import handles

MAX_JSON_CHARS = 20_000


def _bad_value(ctx: RunCtx, pattern: str) -> str | None:
    match = ctx.match(pattern)
    if not match:
        return None
    try:
        value = ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


@handles("ValueError")
def conversion_needs_a_step(ctx: RunCtx) -> Iterator[Candidate]:
    """``int("3.5")``, ``int("1,000")``, ``float("3,5")``, ``float("$4.50")``."""
    as_int = _bad_value(ctx, r"invalid literal for int\(\) with base 10: (.+)$")
    as_float = _bad_value(ctx, r"could not convert string to float: (.+)$")
    value = as_int if as_int is not None else as_float
    if value is None:
        return
    func = "int" if as_int is not None else "float"
    number = r"\s*[-+]?(\d+\.\d*|\.\d+|\d+)\s*"
    steps: list[tuple[str, str]] = []
    if func == "int" and re.fullmatch(number, value):
        steps.append(
            (
                "float({})",
                "a number with a decimal point can't go straight into "
                "`int()`; convert it with `float()` first, then `int()` drops the decimals",
            )
        )
    cleaned = value.strip().strip("$€£%").strip()
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        steps.append(
            (
                '{}.replace(",", "")',
                "commas between thousands aren't part of a number for Python; remove them first",
            )
        )
    elif func == "float" and re.fullmatch(r"[-+]?\d+,\d+", cleaned):
        steps.append(('{}.replace(",", ".")', "Python writes decimals with a point, not a comma"))
    if cleaned != value.strip() and re.fullmatch(number, cleaned.replace(",", "")):
        symbols = "".join(sorted(set(value.strip()) - set(cleaned)))
        steps.append(
            (
                f'{{}}.strip("{symbols}")',
                f"the symbol(s) {symbols} aren't part of the number; strip them first",
            )
        )
    if not steps:
        return
    # "3.50" holds a fraction that `int()` would drop: reading it as a float keeps the value.
    decimals = re.fullmatch(r"\s*[-+]?\d*\.\d*[1-9]\d*\s*", value)
    fraction = func == "int" and len(steps) == 1 and decimals is not None
    for call in ctx.on_line(ast.Call):
        if is_call(call, func) and isinstance(call.func, ast.Name) and len(call.args) == 1:
            arg = ctx.seg(call.args[0])
            if fraction:
                yield ctx.candidate(
                    ctx.replace(call, f"float({arg})"),
                    "conversion_step",
                    f"`int()` can't read {value!r}, a number with decimals; `float()` reads "
                    "it and keeps the decimals.",
                )
            inner = arg
            for template, _ in steps:
                inner = template.format(inner)
            if func == "int" and steps[0][0] != "float({})" and "." in cleaned:
                inner = f"float({inner})"
            yield ctx.candidate(
                ctx.replace(call.args[0], inner),
                "conversion_step",
                f"`{func}()` can't read {value!r}: " + "; ".join(why for _, why in steps) + ".",
                tier=1 if fraction else 0,
            )


def _dictish(ctx: RunCtx, node: ast.AST) -> bool:
    if isinstance(node, ast.Dict | ast.DictComp) or is_call(node, "dict"):
        return True
    return isinstance(node, ast.Name) and name_kinds(ctx.tree).get(node.id) == "dict"


@handles("ValueError")
def unpacking_count(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"(too many|not enough) values to unpack \(expected (\d+)")
    if not match:
        return
    expected = int(match.group(2))
    loops = [*ctx.on_line(ast.For), *ctx.on_line(ast.comprehension)]
    for comp in ctx.on_line(ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp):
        loops += comp.generators
    for loop in loops:
        if not isinstance(loop.target, ast.Tuple) or is_call(
            loop.iter, "items", "enumerate", "zip"
        ):
            continue
        it, shown = loop.iter, ctx.shown(loop.iter)
        dict_first = _dictish(ctx, it)
        if expected == 2:
            yield ctx.candidate(
                ctx.replace(it, f"{ctx.seg(it)}.items()"),
                "unpack_dict_items",
                f"looping over a dictionary gives only its keys; `{shown}.items()` gives "
                "(key, value) pairs to unpack.",
                tier=0 if dict_first else 1,
            )
            yield ctx.candidate(
                ctx.wrap(it, "enumerate(", ")"),
                "unpack_enumerate",
                f"looping over `{shown}` gives one item at a time; `enumerate({shown})` gives "
                "(position, item) pairs to unpack.",
                tier=1 if dict_first else 0,
            )
    stmt = ctx.statement
    if (
        match.group(1) == "too many"
        and isinstance(stmt, ast.Assign)
        and isinstance(stmt.targets[0], ast.Tuple)
        and is_call(stmt.value, "split")
        and len(stmt.value.args) <= 1
        and not stmt.value.keywords
    ):
        call = stmt.value
        sep = ctx.seg(call.args[0]) if call.args else "None"
        end = ctx.end(call) - 1
        yield ctx.candidate(
            ctx.edit(
                (ctx.start(call.args[0]) if call.args else end, end, f"{sep}, {expected - 1}")
            ),
            "unpack_split",
            f"the text splits into more than {expected} parts; `maxsplit={expected - 1}` "
            f"stops after {expected - 1} split{'s' if expected > 2 else ''} so the rest stays "
            "together in the last part.",
        )


def _format_calls(ctx: RunCtx) -> list[tuple[ast.AST, ast.Call, int]]:
    """Format operations on the line that are an argument of a call, with their position."""
    found = []
    for outer in ctx.on_line(ast.Call):
        for position, arg in enumerate(outer.args):
            is_mod = isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod)
            is_format = is_call(arg, "format") and literal_str(arg.func.value) is not None
            if (is_mod or is_format) and position < len(outer.args) - 1:
                found.append((arg, outer, position))
    return found


def _move_arguments(ctx: RunCtx) -> Iterator[Candidate]:
    """``print("%s is %d" % name, age)``: the values meant for the template are outside it."""
    for fmt, outer, position in _format_calls(ctx):
        rest = outer.args[position + 1 :]
        moved = ", ".join(ctx.seg(a) for a in rest)
        cut = (ctx.end(fmt), ctx.end(rest[-1]), "")
        if isinstance(fmt, ast.BinOp):
            right = fmt.right
            values = (
                ", ".join(ctx.seg(e) for e in right.elts)
                if isinstance(right, ast.Tuple)
                else ctx.seg(right)
            )
            new = f"{ctx.seg(fmt.left)} % ({values}, {moved})"
        else:
            inside = ", ".join(ctx.seg(a) for a in [*fmt.args, *fmt.keywords])
            new = f"{ctx.seg(fmt.func)}({inside + ', ' if inside else ''}{moved})"
        yield ctx.candidate(
            ctx.edit((ctx.start(fmt), ctx.end(fmt), new), cut),
            "format_arguments",
            f"the values {moved} were passed to `{ctx.shown(outer.func)}()` instead of to the "
            "template, which was left without enough values to fill in.",
        )


@handles("TypeError", "IndexError", "ValueError", "KeyError")
def format_arguments(ctx: RunCtx) -> Iterator[Candidate]:
    text = ctx.failure.message
    if re.search(
        r"not enough arguments for format string|Replacement index \d+ out of range", text
    ):
        yield from _move_arguments(ctx)
    if "not all arguments converted during string formatting" in text:
        for node in ctx.on_line(ast.BinOp):
            if not isinstance(node.op, ast.Mod):
                continue
            template = literal_str(node.left)
            if template is not None and "{" in template and "%" not in template:
                right = node.right
                values = (
                    ", ".join(ctx.seg(e) for e in right.elts)
                    if isinstance(right, ast.Tuple)
                    else ctx.seg(right)
                )
                yield ctx.candidate(
                    ctx.replace(node, f"{ctx.seg(node.left)}.format({values})"),
                    "format_arguments",
                    "the template uses `{}` placeholders, which are filled by `.format(...)`, "
                    "not by `%`.",
                )
            elif template is None:
                yield ctx.candidate(
                    ctx.wrap(node.left, "int(", ")"),
                    "format_arguments",
                    f"`{ctx.shown(node.left)}` is text, and `%` on text means string "
                    "formatting; convert it to a number first to get the remainder.",
                )
    match = ctx.match(r"%(\w) format: a(?: real)? number is required, not (\w+)")
    if match:
        for node in ctx.on_line(ast.BinOp):
            template = literal_str(node.left) if isinstance(node.op, ast.Mod) else None
            if template is not None and f"%{match.group(1)}" in template:
                quoted = ctx.seg(node.left)
                yield ctx.candidate(
                    ctx.replace(node.left, re.sub(r"%[-+ 0#]*\d*(?:\.\d+)?[dif]", "%s", quoted)),
                    "format_arguments",
                    f"`%{match.group(1)}` needs a number, but the value is {match.group(2)}; "
                    "`%s` prints any value.",
                )


def _json_text(text: str) -> str | None:
    """``{'a': True}`` written as real JSON, or None if it isn't recognisably data."""
    if '"' not in text:
        swapped = text.replace("'", '"')
        try:
            json.loads(swapped)
        except ValueError:
            pass
        else:
            return swapped
    try:
        value = ast.literal_eval(text)
        return json.dumps(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _python_literal(text: str) -> str:
    """A Python string literal for ``text`` that needs no double-quote escapes."""
    body = text.replace("\\", "\\\\")
    triple = "'" * 3
    if "\n" in text and triple not in text and not text.endswith("'"):
        return triple + body + triple
    return "'" + body.replace("'", "\\'").replace("\n", "\\n") + "'"


@handles("JSONDecodeError")
def json_single_quotes(ctx: RunCtx) -> Iterator[Candidate]:
    for call in ctx.on_line(ast.Call):
        if not is_call(call, "loads") or len(call.args) != 1:
            continue
        arg = call.args[0]
        sources: list[ast.Constant] = [arg] if literal_str(arg) is not None else []
        if isinstance(arg, ast.Name):
            sources += [
                node.value
                for node in ast.walk(ctx.tree)
                if isinstance(node, ast.Assign)
                and literal_str(node.value) is not None
                and any(isinstance(t, ast.Name) and t.id == arg.id for t in node.targets)
            ]
        for source in sources[:2]:
            text = source.value
            if len(text) > MAX_JSON_CHARS:
                continue
            fixed = _json_text(text)
            if fixed is None or fixed == text:
                continue
            yield ctx.candidate(
                ctx.replace(source, _python_literal(fixed)),
                "json_quotes",
                "JSON is stricter than Python: text must use double quotes, and true, false "
                "and null are lower case (no `True`, `False` or `None`). I rewrote the JSON text "
                "in that form.",
            )


@handles("ValueError")
def missing_item(ctx: RunCtx) -> Iterator[Candidate]:
    stmt = ctx.statement
    if ctx.match(r"list\.remove\(x\): x not in list") and isinstance(stmt, ast.Expr):
        call = stmt.value
        if is_call(call, "remove") and isinstance(call.func, ast.Attribute) and len(call.args) == 1:
            item, owner = ctx.seg(call.args[0]), ctx.seg(call.func.value)
            yield ctx.candidate(
                ctx.replace_statement(
                    stmt, [f"if {item} in {owner}:", f"{ctx.unit}{ctx.seg(call)}"]
                ),
                "remove_missing_item",
                f"`.remove()` fails when the item isn't in the list; check with "
                f"`if {item} in {owner}:` first.",
            )
    if ctx.match(r"^substring not found"):
        for call in ctx.on_line(ast.Call):
            if is_call(call, "index") and isinstance(call.func, ast.Attribute):
                start = ctx.end(call.func.value) + 1
                yield ctx.candidate(
                    ctx.edit((start, start + len("index"), "find")),
                    "substring_not_found",
                    "`.index()` fails when the text isn't there; `.find()` returns -1 instead.",
                )
    match = ctx.match(r"^(max|min)\(\) arg is an empty sequence")
    if match:
        for call in ctx.on_line(ast.Call):
            if is_call(call, match.group(1)) and len(call.args) == 1 and not call.keywords:
                end = ctx.end(call) - 1
                yield ctx.candidate(
                    ctx.edit((end, end, ", default=0")),
                    "empty_max",
                    f"`{match.group(1)}()` of an empty list has no answer; `default=0` says "
                    "what to use when there are no items.",
                )
