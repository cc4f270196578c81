"""Types that are evident from the code without running it.

Deliberately conservative: a name has a kind only when every place that binds it
agrees (``n = 0`` and ``n = len(x)``), so a fix based on it is safe to make.
"""

from __future__ import annotations

import ast

_LITERALS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    ((ast.List, ast.ListComp), "list"),
    ((ast.Dict, ast.DictComp), "dict"),
    ((ast.Set, ast.SetComp), "set"),
    (ast.Tuple, "tuple"),
    (ast.JoinedStr, "str"),
)
_CALLS = {
    "str": "str",
    "repr": "str",
    "input": "str",
    "chr": "str",
    "format": "str",
    "hex": "str",
    "bin": "str",
    "oct": "str",
    "len": "int",
    "int": "int",
    "ord": "int",
    "float": "float",
    "list": "list",
    "sorted": "list",
    "dict": "dict",
    "set": "set",
    "tuple": "tuple",
    "sum": "num",
    "abs": "num",
    "round": "num",
}
# Methods of ``str`` (and ``bytes``) that return the same type as their receiver.
_SAME_TYPE = {
    "upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "casefold",
    "swapcase", "center", "ljust", "rjust", "zfill", "replace", "format", "join", "expandtabs",
    "removeprefix", "removesuffix",
}  # fmt: skip
NUMERIC = frozenset({"int", "float", "num"})
TYPES: dict[str, type] = {
    "list": list,
    "str": str,
    "dict": dict,
    "set": set,
    "tuple": tuple,
    "bytes": bytes,
    "int": int,
    "float": float,
}


def kind(node: ast.AST | None, names: dict[str, str]) -> str | None:
    """The evident type of an expression: a key of ``TYPES``, "num", or None if unsure."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None:
            return None
        return {str: "str", bytes: "bytes", int: "int", float: "float"}.get(type(value))
    for types, name in _LITERALS:
        if isinstance(node, types):
            return name
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return names.get(f"{node.value.id}.{node.attr}") if node.value.id == "self" else None
    if isinstance(node, ast.Call):
        return _call_kind(node, names)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return kind(node.operand, names) if kind(node.operand, names) in NUMERIC else None
    if isinstance(node, ast.BinOp):
        return _binop_kind(node, names)
    return None


def _call_kind(node: ast.Call, names: dict[str, str]) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return _CALLS.get(func.id)
    if isinstance(func, ast.Attribute):
        receiver = kind(func.value, names)
        if receiver in ("str", "bytes") and func.attr in _SAME_TYPE:
            return receiver
        if receiver in ("str", "list", "tuple") and func.attr in ("count", "index", "find"):
            return "int"
        if receiver == "str" and func.attr in ("split", "splitlines"):
            return "list"
    return None


def _binop_kind(node: ast.BinOp, names: dict[str, str]) -> str | None:
    left, right = kind(node.left, names), kind(node.right, names)
    if left in NUMERIC and right in NUMERIC:
        if isinstance(node.op, ast.Div):
            return "float"
        return left if left == right else "num"
    if isinstance(node.op, ast.Add) and "str" in (left, right):
        return "str"  # or it raises, which is what the concatenation fixes are for
    if isinstance(node.op, ast.Add) and left == right and left in ("list", "tuple"):
        return left
    if isinstance(node.op, ast.Mod) and left == "str":
        return "str"
    if isinstance(node.op, ast.Mult) and {left, right} == {"str", "int"}:
        return "str"
    return None


_RANGE = ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=[], keywords=[])


def _sites(tree: ast.Module) -> dict[str, list[ast.AST | None]]:
    """Every value bound to each name; None where the value can't be known."""
    sites: dict[str, list[ast.AST | None]] = {}

    def bind(target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            sites.setdefault(target.id, []).append(value)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            sites.setdefault(f"self.{target.attr}", []).append(value)
        elif isinstance(target, ast.Tuple | ast.List | ast.Starred):
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    sites.setdefault(sub.id, []).append(None)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            bind(node.target, node.value)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            is_range = (
                isinstance(node.iter, ast.Call)
                and isinstance(node.iter.func, ast.Name)
                and node.iter.func.id == "range"
            )
            bind(node.target, _RANGE if is_range else None)
        elif isinstance(node, ast.arg):
            sites.setdefault(node.arg, []).append(None)
        elif isinstance(node, ast.alias):
            sites.setdefault(node.asname or node.name.split(".")[0], []).append(None)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            sites.setdefault(node.name, []).append(None)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bind(node.optional_vars, None)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            sites.setdefault(node.name, []).append(None)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                sites.setdefault(name, []).append(None)
    return sites


def name_kinds(tree: ast.Module) -> dict[str, str]:
    """Names whose every binding has the same evident kind (``for i in range`` is int)."""
    sites = _sites(tree)
    names: dict[str, str] = {}
    for _ in range(3):
        for name, values in sites.items():
            kinds = {
                "int" if value is _RANGE else kind(value, names) if value is not None else None
                for value in values
            }
            if len(kinds) == 1 and None not in kinds:
                names[name] = kinds.pop()
    return names


def input_names(tree: ast.Module) -> dict[str, ast.Call]:
    """Names bound only once, to ``input(...)``: their value is always a string."""
    found = {}
    for name, values in _sites(tree).items():
        if (
            len(values) == 1
            and isinstance(values[0], ast.Call)
            and isinstance(values[0].func, ast.Name)
            and values[0].func.id == "input"
        ):
            found[name] = values[0]
    return found
