"""Misspelled attributes on values whose type is evident or named by the error."""

from __future__ import annotations

import ast
import re
from types import ModuleType

from bugfixer.fixing.builtin.errors import Hint
from bugfixer.fixing.builtin.imports import MODULES, load
from bugfixer.fixing.builtin.kinds import TYPES, kind, name_kinds
from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.scopes import closest
from bugfixer.fixing.builtin.source import (
    apply_edits,
    char_col,
    node_span,
    parents,
    segment,
    undefined_names,
)

_OBJECT_RE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_MODULE_RE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
_CLASS_RE = re.compile(r"type object '(\w+)' has no attribute '(\w+)'")
_LENGTHS = {"length", "lenght", "len", "size"}
_PLURALS = {
    "list": "lists",
    "str": "strings",
    "dict": "dictionaries",
    "set": "sets",
    "tuple": "tuples",
    "bytes": "bytes objects",
    "int": "integers",
    "float": "floats",
}


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names of allow-listed modules, including ones the code forgot to import."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in MODULES:
                    aliases[alias.asname or top] = alias.name if alias.asname else top
    for name, _, _ in undefined_names(tree):
        if name in MODULES:
            aliases.setdefault(name, name)
    return aliases


def _module_object(node: ast.AST, aliases: dict[str, str]) -> ModuleType | None:
    if isinstance(node, ast.Name) and node.id in aliases:
        parts = aliases[node.id].split(".")
        found: object = load(parts[0])
        for part in parts[1:]:
            found = getattr(found, part, None)
        return found if isinstance(found, ModuleType) else None
    if isinstance(node, ast.Attribute):
        base = _module_object(node.value, aliases)
        inner = getattr(base, node.attr, None) if base is not None else None
        return inner if isinstance(inner, ModuleType) else None
    return None


def _class_members(tree: ast.Module, name: str) -> tuple[set[str], bool] | None:
    """Members of a class defined in the code, and whether that list is complete."""
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef) and cls.name == name:
            members = set(dir(object))
            for node in ast.walk(cls):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    members.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    members.add(node.id)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    members.add(node.attr)
            complete = all(isinstance(b, ast.Name) and b.id == "object" for b in cls.bases)
            return members, complete
    return None


def _from_hint(tree: ast.Module, hint: Hint) -> tuple[str, set[str], str] | None:
    """``(bad attribute, valid names, owner description)`` read from an AttributeError."""
    if hint.exc_type != "AttributeError":
        return None
    for pattern in (_OBJECT_RE, _MODULE_RE, _CLASS_RE):
        match = pattern.search(hint.message)
        if not match:
            continue
        owner, bad = match.groups()
        if pattern is _MODULE_RE:
            module = load(owner.split(".")[0])
            for part in owner.split(".")[1:]:
                module = getattr(module, part, None)
            if module is not None:
                return bad, set(dir(module)), f"the `{owner}` module"
        elif owner in TYPES:
            return bad, set(dir(TYPES[owner])), _PLURALS[owner]
        else:
            members = _class_members(tree, owner)
            if members and (members[1] or hint.suggestion in members[0]):
                return bad, members[0], f"`{owner}` objects"
    return None


_GUARD_WORDS = re.compile(r"version|implementation|platform|hasattr|getattr|PY\d", re.I)


def _guarded(parent: dict, node: ast.AST) -> bool:
    """Code that checks the Python version or catches AttributeError expects some
    module attributes to be missing elsewhere; those are not typos."""
    child, up = node, parent.get(node)
    while up is not None:
        if isinstance(up, ast.If | ast.IfExp | ast.While) and _GUARD_WORDS.search(
            ast.dump(up.test)
        ):
            return True
        if isinstance(up, ast.Try) and child in up.body:
            return True
        child, up = up, parent.get(up)
    return False


def _length_call(lines: list[str], parent: dict, node: ast.Attribute, owner: str) -> tuple:
    """``items.length()`` or ``s.size`` -> ``len(...)``: other languages' spelling of len."""
    up = parent.get(node)
    target = up if isinstance(up, ast.Call) and up.func is node and not up.args else node
    if target.lineno != target.end_lineno:
        return None, None
    call = f"len({segment(lines, node.value)})"
    note = Note(
        node.lineno,
        f"{owner} have no `.{node.attr}`; in Python the length of anything is `{call}`.",
    )
    return (*node_span(lines, target), call), note


def misspelled_attribute(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines, parent = text.split("\n"), parents(tree)
    kinds, aliases = name_kinds(tree), _module_aliases(tree)
    hinted = _from_hint(tree, hint)
    edits, notes, done, lengths = [], [], set(), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        module = _module_object(node.value, aliases)
        owner_kind = kind(node.value, kinds)
        if module is not None:
            valid, owner = set(dir(module)), f"the `{module.__name__}` module"
        elif owner_kind in TYPES:
            valid, owner = set(dir(TYPES[owner_kind])), _PLURALS[owner_kind]
        elif hinted and node.attr == hinted[0]:
            valid, owner = hinted[1], hinted[2]
        else:
            continue
        if node.attr in valid or (module is not None and _guarded(parent, node)):
            continue
        public = {v for v in valid if not v.startswith("_")}
        if hinted and node.attr == hinted[0] and hint.suggestion in valid:
            fixed = hint.suggestion
        else:
            fixed = closest(node.attr, public, set())
        if node.attr.lower() in _LENGTHS and "__len__" in valid and module is None:
            lengths.append(_length_call(lines, parent, node, owner))
            continue
        if fixed is None or fixed in ("True", "False", "None"):
            continue
        line = lines[node.end_lineno - 1]
        end = char_col(line, node.end_col_offset)
        start = end - len(node.attr)
        if line[start:end] != node.attr:
            continue
        edits.append((node.end_lineno, start, end, fixed))
        if (node.attr, fixed) not in done:
            done.add((node.attr, fixed))
            notes.append(
                Note(
                    node.end_lineno,
                    f"{owner} have no attribute `{node.attr}`; you most likely meant "
                    f"`{fixed}`.".replace(" module have ", " module has "),
                )
            )
    if not edits:
        # Rewriting a whole expression could overlap a rename inside it; the engine's
        # next pass gets these once the renames are in.
        lengths = [(edit, note) for edit, note in lengths if edit]
        edits, notes = [e for e, _ in lengths[:1]], [n for _, n in lengths[:1]]
    return change(apply_edits(text, edits), "misspelled_attribute", *notes) if edits else None
