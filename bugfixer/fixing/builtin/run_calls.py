"""Calls that don't fit: missing or extra arguments, wrong keywords, calling a non-function."""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator

from bugfixer.fixing.builtin.failure import Candidate, RunCtx, one_edit
from bugfixer.fixing.builtin.imports import load
from bugfixer.fixing.builtin.runtime import handles
from bugfixer.fixing.builtin.scopes import BUILTIN_NAMES, visible_names
from bugfixer.fixing.builtin.source import undefined_names

_KEYWORDS = {
    "print": ("sep", "end", "file", "flush"),
    "sorted": ("key", "reverse"),
    "sort": ("key", "reverse"),
    "open": ("mode", "encoding", "newline", "errors"),
    "split": ("sep", "maxsplit"),
    "round": ("ndigits",),
    "enumerate": ("start",),
    "max": ("key", "default"),
    "min": ("key", "default"),
    "int": ("base",),
}
# Words people reach for instead of the real keyword.
_KEYWORD_ALIASES = {
    "separator": "sep", "seperator": "sep", "delimiter": "sep", "ending": "end",
    "endl": "end", "reversed": "reverse", "descending": "reverse", "keyfunc": "key",
}  # fmt: skip
# What to call a variable that hides a built-in function, so the function works again.
_RENAMES = {
    "sum": "total", "list": "items", "str": "text", "max": "largest", "min": "smallest",
    "input": "answer", "len": "length", "dict": "mapping", "type": "kind", "id": "ident",
    "print": "message", "range": "span", "int": "number", "float": "number", "set": "unique",
    "tuple": "pair", "sorted": "ordered", "round": "rounded", "abs": "magnitude",
    "map": "mapping", "filter": "chosen", "next": "following", "format": "pattern",
}  # fmt: skip


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _calls(ctx: RunCtx, name: str) -> list[ast.Call]:
    return [c for c in ctx.on_line(ast.Call) if _call_name(c) == name]


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    return func.args.posonlyargs + func.args.args


def _uses(func: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(func))


def _without(ctx: RunCtx, items: list[ast.AST], drop: list[ast.AST]) -> str:
    """The text with ``drop`` taken out of the comma-separated ``items`` (in source order)."""
    kept = ", ".join(ctx.seg(item) for item in items if item not in drop)
    return ctx.edit((ctx.start(items[0]), ctx.end(items[-1]), kept))


@handles("TypeError")
def missing_argument(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(
        r"(\w+)\(\) missing \d+ required (?:positional|keyword-only) arguments?: (.+)"
    )
    if not match:
        return
    name, missing = match.group(1), re.findall(r"'(\w+)'", match.group(2))
    for call in _calls(ctx, name):
        func = call.func
        if (
            missing == ["self"]
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
        ):
            owner = func.value.id
            if ctx.classes(owner):
                yield ctx.candidate(
                    ctx.replace(func.value, f"{owner}()"),
                    "missing_argument",
                    f"`{owner}.{name}()` calls the method on the class itself; methods are "
                    f"called on an object, made with `{owner}()`.",
                )
            continue
        visible = visible_names(ctx.tree, ctx.parent, call)
        if all(m in visible for m in missing) and not call.keywords:
            end = ctx.end(call) - 1
            sep = ", " if call.args else ""
            yield ctx.candidate(
                ctx.edit((end, end, sep + ", ".join(missing))),
                "missing_argument",
                f"`{name}()` needs {', '.join(f'`{m}`' for m in missing)} as well, and the "
                f"call left {'it' if len(missing) == 1 else 'them'} out.",
            )
    for func in ctx.functions(name):
        params = _params(func)
        unused = [p for p in params if p.arg in missing and not _uses(func, p.arg)]
        plain = not (func.args.defaults or func.args.vararg or func.args.kwonlyargs)
        if unused and len(unused) == len(missing) and plain:
            yield ctx.candidate(
                _without(ctx, params, unused),
                "missing_argument",
                f"`{name}()` asks for {', '.join(f'`{p.arg}`' for p in unused)} but never uses "
                "it, and the call doesn't pass it, so I removed the unused parameter.",
            )


@handles("TypeError")
def extra_argument(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"(\w+)\(\) takes (\d+) positional arguments? but (\d+) (?:was|were) given")
    no_args = ctx.match(r"^(\w+)\(\) takes no arguments")
    if no_args:
        yield from _misnamed_init(ctx, no_args.group(1))
        return
    if not match:
        return
    name, takes, given = match.group(1), int(match.group(2)), int(match.group(3))
    for func in ctx.functions(name):
        params = _params(func)
        owner = ctx.parent.get(func)
        if (
            isinstance(owner, ast.ClassDef)
            and given == takes + 1
            and (not params or params[0].arg != "self")
        ):
            at = ctx.text.index("(", ctx.text.index(func.name, ctx.start(func))) + 1
            yield ctx.candidate(
                ctx.edit((at, at, "self, " if params else "self")),
                "missing_self",
                f"the method `{name}` has no `self` parameter, but Python passes the object "
                "itself as the first argument when a method is called, so I added `self`.",
            )
        inside = range(func.lineno, (func.end_lineno or func.lineno) + 1)
        wanted = [n for n, line, _ in undefined_names(ctx.tree) if line in inside]
        wanted = [n for n in dict.fromkeys(wanted) if n not in BUILTIN_NAMES]
        if wanted and len(wanted) <= given - takes and not func.args.vararg:
            end = ctx.start(func.body[0])
            close = ctx.text.rindex(")", ctx.start(func), end)
            sep = ", " if params else ""
            yield ctx.candidate(
                ctx.edit((close, close, sep + ", ".join(wanted))),
                "extra_argument",
                f"the call gives `{name}()` {given} values but it only accepts {takes}; its "
                f"body uses {', '.join(f'`{w}`' for w in wanted)}, which should be parameters.",
            )
    method = any(isinstance(ctx.parent.get(f), ast.ClassDef) for f in ctx.functions(name))
    extra = given - takes
    for call in _calls(ctx, name):
        if 0 < extra <= len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args):
            drop = call.args[len(call.args) - extra :]
            shown = ", ".join(f"`{ctx.shown(a)}`" for a in drop)
            counted = takes - 1 if method else takes
            yield ctx.candidate(
                _without(ctx, call.args, drop),
                "extra_argument",
                f"`{name}()` accepts {counted} argument{'s' if counted != 1 else ''}, but the call "
                f"passes more; I removed {shown}.",
                tier=1,
            )


def _misnamed_init(ctx: RunCtx, cls_name: str) -> Iterator[Candidate]:
    """``Dog("Rex")`` raising "Dog() takes no arguments": ``__init__`` is misspelled."""
    for cls in ctx.classes(cls_name):
        for node in cls.body:
            if not isinstance(node, ast.FunctionDef) or node.name == "__init__":
                continue
            plain = node.name.strip("_").lower()
            if plain in ("init", "int", "innit", "inti", "initialize") or one_edit(
                node.name, "__init__"
            ):
                start = ctx.text.index(node.name, ctx.start(node))
                yield ctx.candidate(
                    ctx.edit((start, start + len(node.name), "__init__")),
                    "misnamed_init",
                    f"`{node.name}` should be `__init__` (two underscores on each side): that is "
                    "the name Python calls when an object is created.",
                )


@handles("TypeError")
def unexpected_keyword(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"(\w+)\(\) got an unexpected keyword argument '(\w+)'")
    invalid = ctx.match(r"'(\w+)' is an invalid keyword argument for (\w+)\(\)")
    if match:
        name, bad = match.groups()
    elif invalid:
        bad, name = invalid.groups()
    else:
        return
    options = list(_KEYWORDS.get(name, ()))
    for func in ctx.functions(name):
        options += [a.arg for a in _params(func) + func.args.kwonlyargs]
    close = difflib.get_close_matches(bad, options, n=1, cutoff=0.6)
    if _KEYWORD_ALIASES.get(bad.lower()) in options:
        close = [_KEYWORD_ALIASES[bad.lower()]]
    for call in _calls(ctx, name):
        for keyword in call.keywords:
            if keyword.arg == bad and close:
                start = ctx.start(keyword)
                yield ctx.candidate(
                    ctx.edit((start, start + len(bad), close[0])),
                    "unexpected_keyword",
                    f"`{name}()` has no option called `{bad}`; it is spelled `{close[0]}`.",
                )


def _binders(ctx: RunCtx, name: str) -> list[tuple[int, int]]:
    """Spans of ``name`` where the program uses it as its own variable, not as a function."""
    spans = []
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Name) and node.id == name:
            up = ctx.parent.get(node)
            if not (isinstance(up, ast.Call) and up.func is node):
                spans.append((ctx.start(node), ctx.end(node)))
        elif isinstance(node, ast.arg) and node.arg == name:
            start = ctx.start(node)
            spans.append((start, start + len(name)))
    return spans


def _taken(ctx: RunCtx) -> set[str]:
    found = set(BUILTIN_NAMES)
    for node in ast.walk(ctx.tree):
        found |= {
            v
            for v in (
                getattr(node, "id", None),
                getattr(node, "arg", None),
                getattr(node, "attr", None),
            )
            if isinstance(v, str)
        }
    return found


@handles("TypeError")
def not_callable(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"'(\w+)' object is not callable")
    if not match:
        return
    kind = match.group(1)
    for call in ctx.on_line(ast.Call):
        func = call.func
        between = ctx.text[ctx.end(func) : ctx.end(func) + 1]
        numeric = kind in ("int", "float") and between == "("
        if numeric and call.args and not isinstance(func, ast.Attribute):
            tier = (
                0
                if isinstance(func, ast.Constant | ast.BinOp) or ctx.seg(func).endswith(")")
                else 1
            )
            yield ctx.candidate(
                ctx.edit((ctx.end(func), ctx.end(func), " * ")),
                "implicit_multiplication",
                f"`{ctx.shown(call)}` looks like maths notation, but in Python a number "
                "followed by brackets is a call; multiplication needs `*`.",
                tier,
            )
        if isinstance(func, ast.Name) and func.id in BUILTIN_NAMES:
            spans = _binders(ctx, func.id)
            new = _RENAMES.get(func.id, f"my_{func.id}")
            if spans and new not in _taken(ctx):
                yield ctx.candidate(
                    ctx.edit(*((s, e, new) for s, e in spans)),
                    "shadowed_builtin",
                    f"the program stores a value in a variable called `{func.id}`, which hides "
                    f"Python's own `{func.id}()` function; I renamed the variable to `{new}`.",
                )
        if kind in ("list", "dict", "tuple", "str") and len(call.args) == 1 and not call.keywords:
            yield ctx.candidate(
                ctx.edit(
                    (ctx.end(func), ctx.end(func) + 1, "["), (ctx.end(call) - 1, ctx.end(call), "]")
                ),
                "call_instead_of_index",
                f"`{ctx.shown(func)}` is a {kind}: items are picked with square brackets "
                f"`[ ]`, round brackets call a function.",
            )
        if (
            isinstance(func, ast.Attribute | ast.Name)
            and not call.args
            and not call.keywords
            and kind not in ("module", "type", "NoneType")
        ):
            yield ctx.candidate(
                ctx.edit((ctx.end(func), ctx.end(call), "")),
                "call_of_attribute",
                f"`{ctx.shown(func)}` is a value ({kind}), not a method, so it is used "
                "without `()`.",
            )
        if kind == "module" and isinstance(func, ast.Name):
            module = load(func.id)
            if module is not None and callable(getattr(module, func.id, None)):
                yield ctx.candidate(
                    ctx.replace(func, f"{func.id}.{func.id}"),
                    "module_call",
                    f"`{func.id}` is the module; the function inside it is "
                    f"`{func.id}.{func.id}()`.",
                )
