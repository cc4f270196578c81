"""Fixes for names: typos, a forgotten ``self``, and print statements that still parse."""

from __future__ import annotations

import ast
import re

from bugfixer.fixing.builtin.errors import Hint
from bugfixer.fixing.builtin.imports import MODULES, import_line
from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.scopes import BUILTIN_NAMES, closest, plausible, visible_names
from bugfixer.fixing.builtin.source import (
    apply_edits,
    char_col,
    node_span,
    parents,
    segment,
    undefined_names,
)

_METHOD_ARGS_RE = re.compile(
    r"(\w+)\.(\w+)\(\) takes (\d+) positional arguments? but (\d+) (?:was|were) given"
)


def _occurrences(tree: ast.Module) -> dict[str, list[ast.Name]]:
    """Undefined names and the ``Name`` nodes where pyflakes saw them."""
    wanted: dict[tuple[int, int], str] = {
        (line, col): name for name, line, col in undefined_names(tree)
    }
    found: dict[str, list[ast.Name]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and wanted.get((node.lineno, node.col_offset)) == node.id:
            found.setdefault(node.id, []).append(node)
    for nodes in found.values():
        nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    return found


def _method_of(parent: dict[ast.AST, ast.AST], node: ast.AST) -> tuple[ast.ClassDef, ast.AST]:
    """The class and method directly enclosing ``node``, or raise LookupError."""
    up = parent.get(node)
    while up is not None and not isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
        up = parent.get(up)
    owner = parent.get(up) if up is not None else None
    if not isinstance(owner, ast.ClassDef):
        raise LookupError
    return owner, up


def _is_static(method: ast.AST) -> bool:
    return any(
        isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")
        for d in method.decorator_list
    )


def _needs_self(method: ast.AST, takes: int) -> bool:
    first = method.args.posonlyargs + method.args.args
    return len(first) == takes and (not first or first[0].arg not in ("self", "cls"))


def _add_self(lines: list[str], method: ast.AST) -> tuple[int, int, int, str] | None:
    line = lines[method.lineno - 1]
    match = re.compile(rf"def\s+{re.escape(method.name)}\s*\(").search(
        line, char_col(line, method.col_offset)
    )
    if not match:
        return None
    has_params = bool(method.args.posonlyargs or method.args.args or method.args.vararg)
    has_params = has_params or bool(method.args.kwonlyargs or method.args.kwarg)
    return (method.lineno, match.end(), match.end(), "self, " if has_params else "self")


def missing_self(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines, parent = text.split("\n"), parents(tree)
    targets: dict[int, ast.AST] = {}
    called: set[int] = set()  # methods the error shows being called with all their arguments
    for node in _occurrences(tree).get("self", []):
        try:
            _, method = _method_of(parent, node)
        except LookupError:
            continue
        first = method.args.posonlyargs + method.args.args
        if not _is_static(method) and (not first or first[0].arg != "self"):
            targets[id(method)] = method
    match = _METHOD_ARGS_RE.search(hint.message) if hint.exc_type == "TypeError" else None
    if match and int(match.group(4)) == int(match.group(3)) + 1:
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef) and cls.name == match.group(1):
                for method in cls.body:
                    if (
                        isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
                        and method.name == match.group(2)
                        and not _is_static(method)
                        and _needs_self(method, int(match.group(3)))
                    ):
                        targets[id(method)] = method
                        called.add(id(method))
    edits, notes = [], []
    for method in sorted(targets.values(), key=lambda m: m.lineno):
        renamed = None if id(method) in called else _misnamed_self(lines, method)
        edit = renamed or _add_self(lines, method)
        if edit:
            edits.append(edit)
            how = "renamed its unused first parameter to `self`" if renamed else "added `self`"
            notes.append(
                Note(
                    method.lineno,
                    f"the method `{method.name}` has no `self` parameter, but Python passes "
                    f"the object itself as the first argument when a method is called, so I {how}.",
                )
            )
    return change(apply_edits(text, edits), "missing_self", *notes) if edits else None


def _misnamed_self(lines: list[str], method: ast.AST) -> tuple[int, int, int, str] | None:
    """``def speak(slf): return self.name``: the first parameter is the misspelled ``self``."""
    first = (method.args.posonlyargs + method.args.args)[:1]
    if not first:
        return None
    used = {n.id for stmt in method.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    if first[0].arg in used:
        return None
    line = lines[first[0].lineno - 1]
    start = char_col(line, first[0].col_offset)
    return (first[0].lineno, start, start + len(first[0].arg), "self")


def _instance_attributes(cls: ast.ClassDef) -> set[str]:
    names = {n.name for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    for node in ast.walk(cls):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
    return names


def self_attribute(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines, parent = text.split("\n"), parents(tree)
    edits, notes = [], []
    for name, nodes in _occurrences(tree).items():
        for node in nodes:
            try:
                cls, method = _method_of(parent, node)
            except LookupError:
                continue
            first = method.args.posonlyargs + method.args.args
            if first and first[0].arg == "self" and name in _instance_attributes(cls):
                lineno, start, end = node_span(lines, node)
                edits.append((lineno, start, end, f"self.{name}"))
                notes.append(
                    Note(
                        lineno,
                        f"`{name}` belongs to the object, so inside the method "
                        f"`{method.name}` it has to be written `self.{name}`.",
                    )
                )
    return change(apply_edits(text, edits), "self_attribute", *notes) if edits else None


def misspelled_name(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines, parent = text.split("\n"), parents(tree)
    suggested = hint.suggestion if hint.exc_type == "NameError" else None
    edits, notes = [], []
    for name, nodes in sorted(_occurrences(tree).items()):
        if name == "self" or import_line(tree, name):
            continue
        user = visible_names(tree, parent, nodes[0])
        as_module = all(
            isinstance(parent.get(n), ast.Attribute) and parent[n].value is n for n in nodes
        )
        others = BUILTIN_NAMES | (MODULES if as_module else frozenset())
        mentioned = f"'{name}'" in hint.message
        if mentioned and suggested in user | others and plausible(name, suggested, user):
            fixed = suggested
        else:
            # ``maths.sqrt``: used as a module, so a module is as likely as a local name.
            fixed = closest(name, user | (set(MODULES) if as_module else set()), others)
        if fixed is None:
            continue
        for node in nodes:
            lineno, start, end = node_span(lines, node)
            edits.append((lineno, start, end, fixed))
        kind = "the built-in" if fixed in BUILTIN_NAMES and fixed not in user else "the name"
        if fixed in MODULES and fixed not in user:
            kind = "the module"
        where = nodes[0].lineno
        notes.append(
            Note(where, f"`{name}` isn't defined; it looks like a typo for {kind} `{fixed}`.")
        )
    return change(apply_edits(text, edits), "misspelled_name", *notes) if edits else None


def bare_print(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines = text.split("\n")
    nodes = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Name) and n.value.id == "print"
    ]
    if not nodes:
        return None
    edits = [(*node_span(lines, n), "print()") for n in nodes]
    notes = [
        Note(n.lineno, "a bare `print` does nothing in Python 3; `print()` prints an empty line.")
        for n in nodes
    ]
    return change(apply_edits(text, edits), "python2_print", *notes)


def print_chevron(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    """``print >>sys.stderr, x`` parses in Python 3 but fails when run."""
    lines = text.split("\n")
    edits, notes = [], []
    for stmt in ast.walk(tree):
        if not isinstance(stmt, ast.Expr) or stmt.lineno != stmt.end_lineno:
            continue
        items = stmt.value.elts if isinstance(stmt.value, ast.Tuple) else [stmt.value]
        head = items[0] if items else None
        if not (
            isinstance(head, ast.BinOp)
            and isinstance(head.op, ast.RShift)
            and isinstance(head.left, ast.Name)
            and head.left.id == "print"
        ):
            continue
        args = [segment(lines, item) for item in items[1:]]
        call = f"print({', '.join([*args, f'file={segment(lines, head.right)}'])})"
        edits.append((*node_span(lines, stmt.value), call))
        notes.append(
            Note(
                stmt.lineno,
                f"`print >>stream, ...` is Python 2 syntax; in Python 3 it is `{call}`.",
            )
        )
    return change(apply_edits(text, edits), "python2_print", *notes) if edits else None
