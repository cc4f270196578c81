"""Fixes for type mistakes that always fail: text joined to numbers, text used as numbers."""

from __future__ import annotations

import ast
import re

from bugfixer.fixing.builtin.errors import Hint
from bugfixer.fixing.builtin.kinds import NUMERIC, input_names, kind, name_kinds
from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.source import apply_edits, char_col, segment

_CONCAT_RE = re.compile(r'can only concatenate str \(not "(\w+)"\) to str')
_OPERAND_RE = re.compile(r"unsupported operand type\(s\) for ([^:]+): '(\w+)' and '(\w+)'")
_COMPARE_RE = re.compile(r"not supported between instances of '(\w+)' and '(\w+)'")
_ORDERING = (ast.Lt, ast.Gt, ast.LtE, ast.GtE)
_ARITHMETIC = (ast.Add, ast.Sub, ast.Div, ast.FloorDiv, ast.Pow)


def _shown(lines: list[str], node: ast.AST) -> str:
    code = segment(lines, node) if node.lineno == node.end_lineno else "..."
    return code if len(code) <= 50 else code[:47] + "..."


def _wrap(lines: list[str], node: ast.AST, func: str) -> list[tuple[int, int, int, str]]:
    start_line, end_line = lines[node.lineno - 1], lines[node.end_lineno - 1]
    start = char_col(start_line, node.col_offset)
    end = char_col(end_line, node.end_col_offset)
    return [(node.lineno, start, start, f"{func}("), (node.end_lineno, end, end, ")")]


def _numeric_uses(tree: ast.Module, hint: Hint) -> tuple[dict[str, tuple[int, str, str]], set]:
    """Input names used as numbers (with where, how and which converter) or as text."""
    inputs, kinds = input_names(tree), name_kinds(tree)
    compare = _COMPARE_RE.search(hint.message) if hint.exc_type == "TypeError" else None
    hinted = compare is not None and "str" in compare.groups() and hint.line
    numeric: dict[str, tuple[int, str, str]] = {}
    textual: set[str] = set()

    def note(name: ast.AST, other: ast.AST, line: int, how: str, loose: bool = False) -> None:
        if not isinstance(name, ast.Name) or name.id not in inputs:
            return
        other_kind = kind(other, kinds)
        if other_kind == "str":
            textual.add(name.id)
        elif other_kind in NUMERIC or loose:
            numeric.setdefault(name.id, (line, how, "float" if other_kind == "float" else "int"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, sides, sides[1:], strict=False):
                if isinstance(op, _ORDERING):
                    loose = bool(hinted) and node.lineno == hint.line
                    note(left, right, node.lineno, "compared with a number", loose)
                    note(right, left, node.lineno, "compared with a number", loose)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            note(node.left, node.right, node.lineno, "used in arithmetic")
            note(node.right, node.left, node.lineno, "used in arithmetic")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "range"
        ):
            for arg in node.args:
                note(arg, ast.Constant(0), node.lineno, "passed to `range()`")
    return numeric, textual


def input_to_int(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines, inputs = text.split("\n"), input_names(tree)
    numeric, textual = _numeric_uses(tree, hint)
    edits, notes = [], []
    for name, (line, how, func) in sorted(numeric.items()):
        if name in textual:
            continue
        call = inputs[name]
        edits += _wrap(lines, call, func)
        notes.append(
            Note(
                call.lineno,
                f"`input()` always returns text, but `{name}` is {how} on line {line}, so I "
                f"converted the answer with `{func}(...)`.",
            )
        )
    return change(apply_edits(text, edits), "input_to_int", *notes) if edits else None


def _hinted_line(hint: Hint) -> int | None:
    if hint.exc_type != "TypeError" or not hint.line:
        return None
    if _CONCAT_RE.search(hint.message):
        return hint.line
    match = _OPERAND_RE.search(hint.message)
    if match and match.group(1).strip() == "+" and "str" in match.groups()[1:]:
        return hint.line
    return None


def _digit_texts(tree: ast.Module) -> set[str]:
    """Names only ever bound to text that holds a number (``extra = "3"``): adding a
    number to one of those may mean arithmetic as much as joining text, so it is left
    to a fix that can be run and checked."""
    values: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
    return {
        name
        for name, bound in values.items()
        if all(
            isinstance(v, ast.Constant)
            and isinstance(v.value, str)
            and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", v.value)
            for v in bound
        )
    }


def str_int_concat(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines, kinds, inputs = text.split("\n"), name_kinds(tree), input_names(tree)
    digit_names = _digit_texts(tree)
    hinted = _hinted_line(hint)
    numbers: list[ast.AST] = []
    unknown: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            pairs = [(node.left, node.right), (node.right, node.left)]
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            pairs = [(node.target, node.value)]
        else:
            continue
        for text_side, other in pairs:
            if kind(text_side, kinds) != "str" or other.lineno != other.end_lineno:
                continue
            if isinstance(text_side, ast.Name) and (
                text_side.id in inputs or text_side.id in digit_names
            ):
                continue
            other_kind = kind(other, kinds)
            if other_kind in NUMERIC:
                numbers.append(other)
            elif other_kind is None and other.lineno == hinted:
                unknown.append(other)
    # Only when nothing on the failing line is evidently a number, convert the operands
    # of unknown type: ``str()`` of a value that was already text changes nothing.
    if any(other.lineno == hinted for other in numbers):
        unknown = []
    edits, notes, last_end = [], [], (0, -1)
    for other in sorted(numbers + unknown, key=lambda n: (n.lineno, n.col_offset)):
        if (other.lineno, other.col_offset) < last_end:
            continue
        last_end = (other.end_lineno, other.end_col_offset)
        edits += _wrap(lines, other, "str")
        shown = _shown(lines, other)
        if other in numbers:
            why = f"`{shown}` is a number, and `+` can't join text and numbers"
        else:
            why = f"the error says a number was joined to text here, and `{shown}` may be it"
        notes.append(Note(other.lineno, f"{why}, so I converted it with `str({shown})`."))
    return change(apply_edits(text, edits), "str_int_concat", *notes) if edits else None
