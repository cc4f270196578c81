"""Misspelled imports: ``import maths`` and ``from math import sqroot``.

Both only fail when run, so these rules act on the error (pasted, or seen in the
sandbox) rather than guessing: a module missing here may be installed on the user's
machine, but one the error names as missing is a typo worth fixing.
"""

from __future__ import annotations

import ast
import difflib
import re

from bugfixer.fixing.builtin.errors import Hint
from bugfixer.fixing.builtin.imports import MODULES, load
from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.scopes import one_edit
from bugfixer.fixing.builtin.source import apply_edits, char_col, node_span

_NO_MODULE_RE = re.compile(r"No module named '([\w.]+)'")
_NO_NAME_RE = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")


def _closest(name: str, options: set[str]) -> str | None:
    """The one option ``name`` is a slip of the keyboard away from, if there is exactly one."""
    same = sorted(o for o in options if o.lower() == name.lower() and o != name)
    if len(same) == 1:
        return same[0]
    near = sorted(o for o in options if len(name) >= 3 and one_edit(name.lower(), o.lower()))
    if len(near) == 1:
        return near[0]
    if near:
        return None
    close = difflib.get_close_matches(name, sorted(options), n=2, cutoff=0.8)
    return close[0] if len(close) == 1 else None


def _word_edit(lines: list[str], lineno: int, start_col: int, word: str, new: str) -> tuple | None:
    """Edit for the first ``word`` (as a whole word) on a line, at or after a byte column."""
    line = lines[lineno - 1]
    match = re.compile(rf"\b{re.escape(word)}\b").search(line, char_col(line, start_col))
    return (lineno, match.start(), match.end(), new) if match else None


def _renamed_uses(tree: ast.Module, lines: list[str], old: str, new: str) -> list[tuple]:
    return [
        (*node_span(lines, node), new)
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id == old and node.lineno == node.end_lineno
    ]


def misspelled_import(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines = text.split("\n")
    missing = _NO_MODULE_RE.search(hint.message) if hint.exc_type == "ModuleNotFoundError" else None
    no_name = _NO_NAME_RE.search(hint.message) if hint.exc_type == "ImportError" else None
    edits: list[tuple] = []
    notes: list[Note] = []
    for node in ast.walk(tree):
        if missing and isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for full in names:
                top = full.split(".")[0]
                if full != missing.group(1) and top != missing.group(1):
                    continue
                fixed = _closest(top, set(MODULES))
                edit = (
                    _word_edit(lines, node.lineno, node.col_offset, top, fixed) if fixed else None
                )
                if edit is None or fixed is None:
                    continue
                edits.append(edit)
                bound = isinstance(node, ast.Import) and not any(
                    a.asname for a in node.names if a.name == full
                )
                if bound:
                    edits += _renamed_uses(tree, lines, top, fixed)
                notes.append(
                    Note(
                        node.lineno,
                        f"there is no module called `{top}`; the standard-library module "
                        f"is `{fixed}`.",
                    )
                )
        elif no_name and isinstance(node, ast.ImportFrom) and node.module == no_name.group(2):
            module = load(node.module.split(".")[0]) if "." not in node.module else None
            if module is None:
                continue
            public = {n for n in dir(module) if not n.startswith("_")}
            for alias in node.names:
                if alias.name != no_name.group(1):
                    continue
                fixed = _closest(alias.name, public)
                edit = (
                    _word_edit(lines, alias.lineno, alias.col_offset, alias.name, fixed)
                    if fixed
                    else None
                )
                if edit is None or fixed is None:
                    continue
                edits.append(edit)
                if alias.asname is None:
                    edits += _renamed_uses(tree, lines, alias.name, fixed)
                notes.append(
                    Note(
                        node.lineno,
                        f"the `{node.module}` module has no `{alias.name}`; it is spelled "
                        f"`{fixed}`.",
                    )
                )
    return change(apply_edits(text, edits), "misspelled_import", *notes) if edits else None
