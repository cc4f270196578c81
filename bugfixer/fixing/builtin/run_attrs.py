"""Methods borrowed from other languages, and methods called on the wrong type of value."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from bugfixer.fixing.builtin.failure import Candidate, RunCtx
from bugfixer.fixing.builtin.run_types import tuple_to_list
from bugfixer.fixing.builtin.runtime import handles


@dataclass(frozen=True)
class Borrowed:
    """``push`` on a list is ``append`` in Python: the template rewrites the whole call."""

    types: tuple[str, ...]
    names: tuple[str, ...]
    template: str  # {v}: the value, {a}: all arguments, {a0}/{a1}: the first two
    args: int  # how many arguments the borrowed method takes
    why: str
    statement: bool = False  # the rewrite is a statement, so the call must stand alone


_SEQ = ("list", "str", "tuple", "dict", "set")
BORROWED = (
    Borrowed(("list",), ("push", "add", "pushBack", "push_back"), "{v}.append({a})", 1,
             "Python lists add an item at the end with `.append()`"),
    Borrowed(("set",), ("append", "push"), "{v}.add({a})", 1, "sets add an item with `.add()`"),
    Borrowed(("list",), ("addAll", "concat"), "{v}.extend({a})", 1,
             "Python lists add several items with `.extend()`"),
    Borrowed(_SEQ, ("length", "size", "len", "count", "getLength", "lenght"), "len({v})", 0,
             "Python measures the length of anything with `len(...)`"),
    Borrowed(_SEQ, ("contains", "includes", "has", "containsKey", "has_key", "__contains__"),
             "{a0} in {v}", 1, "Python checks membership with the `in` operator"),
    Borrowed(("dict",), ("containsValue",), "{a0} in {v}.values()", 1,
             "Python checks a dictionary's values with `in d.values()`"),
    Borrowed(("dict",), ("iteritems",), "{v}.items()", 0,
             "`iteritems()` was Python 2; in Python 3 it is `.items()`"),
    Borrowed(("dict",), ("iterkeys", "keySet"), "{v}.keys()", 0,
             "in Python 3 a dictionary's keys come from `.keys()`"),
    Borrowed(("dict",), ("itervalues",), "{v}.values()", 0,
             "`itervalues()` was Python 2; in Python 3 it is `.values()`"),
    Borrowed(("dict",), ("getOrDefault",), "{v}.get({a})", 2,
             "Python dictionaries use `.get(key, default)`"),
    Borrowed(("dict",), ("put", "set"), "{v}[{a0}] = {a1}", 2,
             "Python stores a value in a dictionary with `d[key] = value`", statement=True),
    Borrowed(("dict",), ("remove", "delete"), "{v}.pop({a0})", 1,
             "Python removes a key from a dictionary with `.pop(key)`"),
    Borrowed(_SEQ, ("isEmpty", "empty"), "len({v}) == 0", 0,
             "Python tests for emptiness with `len(...) == 0` (or just `not ...`)"),
    Borrowed(("list", "tuple"), ("get",), "{v}[{a0}]", 1,
             "Python picks an item by position with square brackets"),
    Borrowed(("list", "tuple"), ("indexOf",), "{v}.index({a0})", 1,
             "Python finds an item's position with `.index()`"),
    Borrowed(("list", "tuple", "set"), ("join",), "{a0}.join({v})", 1,
             "in Python `join` belongs to the separator: `separator.join(items)`"),
    Borrowed(("str",), ("toUpperCase", "toUpper", "uppercase", "upcase"), "{v}.upper()", 0,
             "Python strings are upper-cased with `.upper()`"),
    Borrowed(("str",), ("toLowerCase", "toLower", "lowercase", "downcase"), "{v}.lower()", 0,
             "Python strings are lower-cased with `.lower()`"),
    Borrowed(("str",), ("trim", "trimmed", "chomp"), "{v}.strip()", 0,
             "Python strips spaces with `.strip()`"),
    Borrowed(("str",), ("trimStart", "trimLeft"), "{v}.lstrip()", 0,
             "Python strips leading spaces with `.lstrip()`"),
    Borrowed(("str",), ("trimEnd", "trimRight"), "{v}.rstrip()", 0,
             "Python strips trailing spaces with `.rstrip()`"),
    Borrowed(("str",), ("startsWith", "startswidth"), "{v}.startswith({a})", 1,
             "the Python method is `.startswith()`, all lower case"),
    Borrowed(("str",), ("endsWith",), "{v}.endswith({a})", 1,
             "the Python method is `.endswith()`, all lower case"),
    Borrowed(("str",), ("indexOf",), "{v}.find({a})", 1,
             "Python strings find text with `.find()`"),
    Borrowed(("str",), ("replaceAll",), "{v}.replace({a})", 2,
             "Python's `.replace()` already replaces every occurrence"),
    Borrowed(("str",), ("charAt",), "{v}[{a0}]", 1,
             "Python picks a character with square brackets"),
    Borrowed(("str",), ("substring", "substr", "slice"), "{v}[{a0}:{a1}]", 2,
             "Python takes part of a string with a slice `s[start:end]`"),
    Borrowed(("str",), ("equals",), "{v} == {a0}", 1, "Python compares values with `==`"),
    Borrowed(("str", "list"), ("reverse", "reversed"), "{v}[::-1]", 0,
             "`[::-1]` gives the value reversed"),
    Borrowed(("str",), ("append", "push", "concat", "add"), "{v} += {a0}", 1,
             "strings have no `.append()`; `+=` adds text to the end", statement=True),
    Borrowed(("str",), ("decode",), "{v}", -1, "in Python 3 text is already decoded"),
    Borrowed(("str",), ("sort",), '"".join(sorted({v}))', 0,
             "strings can't be sorted in place; `sorted()` gives the letters in order"),
    Borrowed(("list",), ("sorted",), "sorted({v})", 0, "`sorted()` is a function, not a method"),
)  # fmt: skip
_LIST_ONLY = ("append", "extend", "insert", "remove", "sort", "pop")
_STR_METHODS = frozenset(n for n in dir(str) if not n.startswith("_"))


def _arguments(ctx: RunCtx, call: ast.Call) -> list[str]:
    return [ctx.seg(a) for a in call.args] + [ctx.seg(k) for k in call.keywords]


def _fill(template: str, value: str, args: list[str]) -> str:
    padded = [*args, "", ""]
    return template.format(v=value, a=", ".join(args), a0=padded[0], a1=padded[1])


def _used(ctx: RunCtx, attr: str) -> list[tuple[ast.Attribute, ast.Call | None]]:
    """Each ``value.attr`` on the failing line, with the call around it when it is called."""
    found = []
    for node in ctx.on_line(ast.Attribute):
        if node.attr == attr and isinstance(node.ctx, ast.Load):
            up = ctx.parent.get(node)
            found.append((node, up if isinstance(up, ast.Call) and up.func is node else None))
    return found


@handles("AttributeError")
def borrowed_method(ctx: RunCtx) -> Iterator[Candidate]:
    match = ctx.match(r"'(\w+)' object has no attribute '(\w+)'")
    if not match:
        return
    kind, attr = match.groups()
    for node, call in _used(ctx, attr):
        value = ctx.seg(node.value)
        args = _arguments(ctx, call) if call else []
        target: ast.AST = call or node
        for rule in BORROWED:
            if kind not in rule.types or attr not in rule.names:
                continue
            if rule.args >= 0 and call is not None and len(args) != rule.args:
                continue
            if rule.args > 0 and call is None:
                continue
            if rule.statement and not isinstance(ctx.parent.get(target), ast.Expr):
                continue
            new = _fill(rule.template, value, args)
            parent = ctx.parent.get(target)
            if " " in new and not isinstance(
                parent, ast.Expr | ast.Assign | ast.Return | ast.Call | ast.If
            ):
                new = f"({new})"
            where = ctx.parent[target] if rule.statement else target
            yield ctx.candidate(
                ctx.replace(where, new),
                "borrowed_method",
                f"{_plural(kind)} have no `.{attr}`: {rule.why}, so `{ctx.shown(target)}` "
                f"becomes `{new}`.",
            )
        yield from _wrong_type(ctx, kind, attr, node, call)


def _wrong_type(
    ctx: RunCtx, kind: str, attr: str, node: ast.Attribute, call: ast.Call | None
) -> Iterator[Candidate]:
    """A string method on a number or on a list, or a list method on a tuple."""
    value = ctx.seg(node.value)
    shown = ctx.shown(node.value)
    if kind in ("int", "float") and attr in _STR_METHODS:
        yield ctx.candidate(
            ctx.replace(node.value, f"str({value})"),
            "method_on_wrong_type",
            f"`.{attr}()` is a method of text, and `{shown}` is a number; `str({shown})` "
            "turns it into text first.",
        )
    elif kind == "list" and attr in _STR_METHODS and call is not None:
        args = ", ".join(_arguments(ctx, call))
        yield ctx.candidate(
            ctx.replace(call, f"[item.{attr}({args}) for item in {value}]"),
            "method_on_wrong_type",
            f"`.{attr}()` works on one piece of text, and `{shown}` is a list; I applied it "
            "to each item instead.",
            tier=1,
        )
    elif kind == "tuple" and attr in _LIST_ONLY and isinstance(node.value, ast.Name):
        for change in tuple_to_list(ctx, node.value.id):
            yield ctx.candidate(
                change,
                "method_on_wrong_type",
                f"`{shown}` is a tuple, and tuples can't be changed after they are made; "
                f"a list (square brackets) has `.{attr}()`.",
            )


def _plural(kind: str) -> str:
    names = {"str": "strings", "list": "lists", "dict": "dictionaries", "set": "sets"}
    names |= {"tuple": "tuples", "int": "whole numbers", "float": "decimal numbers"}
    return names.get(kind, f"`{kind}` objects").capitalize()
