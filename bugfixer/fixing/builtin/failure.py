"""What a failed run tells the runtime rules, and the editing helpers they share.

A runtime rule sees the program, the exception it raised and the line it raised on,
and proposes whole-program rewrites. It never needs to be sure: every candidate is
run in the sandbox before anyone sees it, so rules may offer a few guesses in order.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from bugfixer.fixing.builtin.errors import Hint
from bugfixer.fixing.builtin.model import Change, Note
from bugfixer.fixing.builtin.scopes import FUNCTION_SCOPES, one_edit
from bugfixer.fixing.builtin.source import indent_of, indent_unit, parents

__all__ = ["Candidate", "Failure", "RunCtx", "is_call", "literal_str", "one_edit"]


@dataclass(frozen=True)
class Failure:
    """One uncaught exception: ``IndexError``, ``list index out of range``, on line 3."""

    exc_type: str
    message: str
    line: int | None

    @classmethod
    def from_run(cls, exception: str, exc_type: str, line: int | None) -> Failure:
        exc_type = exc_type.rsplit(".", 1)[-1]
        head, _, message = exception.partition(":")
        if not exc_type:
            exc_type = head.strip().rsplit(".", 1)[-1]
        return cls(exc_type=exc_type, message=message.strip(), line=line)

    @classmethod
    def from_hint(cls, hint: Hint) -> Failure:
        return cls(exc_type=hint.exc_type, message=hint.message, line=hint.line)

    def hint(self) -> Hint:
        last = f"{self.exc_type}: {self.message}" if self.message else self.exc_type
        return Hint(exc_type=self.exc_type, message=self.message, line=self.line, last_line=last)

    @property
    def shown(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type


@dataclass(frozen=True)
class Candidate:
    """A rewrite to try. Lower ``tier`` is tried first; within a tier, smaller edits first."""

    change: Change
    tier: int = 0


class RunCtx:
    """The failing program, parsed, with the failure it raised."""

    def __init__(self, text: str, tree: ast.Module, failure: Failure, test: str = "") -> None:
        self.text, self.tree, self.failure, self.test = text, tree, failure, test
        self.lines = text.split("\n")
        self.parent = parents(tree)
        self.line = failure.line if failure.line and failure.line <= len(self.lines) else None
        self._offsets = [0]
        for line in self.lines:
            self._offsets.append(self._offsets[-1] + len(line) + 1)

    # -- reading ---------------------------------------------------------------------

    def match(self, pattern: str) -> re.Match[str] | None:
        return re.search(pattern, self.failure.message)

    def on_line(self, *types: type) -> list[ast.AST]:
        """Nodes of the given types that start on the failing line, outermost first."""
        if self.line is None:
            return []
        found = [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, types) and getattr(node, "lineno", None) == self.line
        ]
        return sorted(found, key=lambda n: (n.col_offset, -(n.end_col_offset or 0)))

    def covering(self, *types: type) -> list[ast.AST]:
        """Nodes of the given types whose span includes the failing line."""
        if self.line is None:
            return []
        return [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, types)
            and getattr(node, "lineno", 0) <= self.line <= (getattr(node, "end_lineno", 0) or 0)
        ]

    @cached_property
    def statement(self) -> ast.stmt | None:
        """The innermost statement that starts on the failing line."""
        stmts = [n for n in self.covering(ast.stmt) if n.lineno == self.line]
        return min(stmts, key=lambda n: (n.end_lineno or 0) - n.lineno, default=None)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        up = self.parent.get(node)
        while up is not None:
            yield up
            up = self.parent.get(up)

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for up in self.ancestors(node):
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef):
                return up
            if isinstance(up, ast.Lambda):
                return None
        return None

    def loops_of(self, node: ast.AST) -> list[ast.AST]:
        """Enclosing loops (and comprehension clauses), innermost first."""
        found: list[ast.AST] = []
        for up in self.ancestors(node):
            if isinstance(up, ast.For | ast.AsyncFor | ast.While):
                found.append(up)
            elif isinstance(up, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                found.extend(reversed(up.generators))
            elif isinstance(up, FUNCTION_SCOPES):
                break
        return found

    def functions(self, name: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        return [
            n
            for n in ast.walk(self.tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
        ]

    def classes(self, name: str) -> list[ast.ClassDef]:
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef) and n.name == name]

    def seg(self, node: ast.AST) -> str:
        return self.text[self._pos(node.lineno, node.col_offset) : self.end(node)]

    def shown(self, node: ast.AST) -> str:
        code = " ".join(self.seg(node).split())
        return code if len(code) <= 60 else code[:57] + "..."

    def end(self, node: ast.AST) -> int:
        return self._pos(node.end_lineno or node.lineno, node.end_col_offset or 0)

    def start(self, node: ast.AST) -> int:
        return self._pos(node.lineno, node.col_offset)

    def _pos(self, lineno: int, byte_col: int) -> int:
        line = self.lines[lineno - 1]
        col = len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        return self._offsets[lineno - 1] + col

    # -- writing ---------------------------------------------------------------------

    def edit(self, *edits: tuple[int, int, str]) -> str:
        """Apply ``(start, end, replacement)`` edits given as offsets into the text."""
        out = self.text
        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out

    def replace(self, node: ast.AST, new: str) -> str:
        return self.edit((self.start(node), self.end(node), new))

    def wrap(self, node: ast.AST, before: str, after: str) -> str:
        start, end = self.start(node), self.end(node)
        return self.edit((start, start, before), (end, end, after))

    def replace_statement(self, stmt: ast.stmt, new_lines: list[str]) -> str:
        """Replace a whole statement by lines at its indentation, keeping a trailing comment."""
        first = self.lines[stmt.lineno - 1]
        indent = indent_of(first)
        if len(indent.encode("utf-8")) != stmt.col_offset:
            # ``if x: y = 1`` -- a statement that shares its line; edit it in place.
            return self.replace(stmt, "; ".join(new_lines))
        last = stmt.end_lineno or stmt.lineno
        tail = self.text[self.end(stmt) : self._offsets[last] - 1]
        new = [indent + line for line in new_lines]
        new[-1] += tail
        out = list(self.lines)
        out[stmt.lineno - 1 : last] = new
        return "\n".join(out)

    def insert_before(self, stmt: ast.stmt, new_lines: list[str], extra: str = "") -> str:
        """Put lines above ``stmt`` at its indentation (plus ``extra``)."""
        indent = indent_of(self.lines[stmt.lineno - 1]) + extra
        out = list(self.lines)
        out[stmt.lineno - 1 : stmt.lineno - 1] = [indent + line for line in new_lines]
        return "\n".join(out)

    def insert_after(self, stmt: ast.stmt, new_lines: list[str]) -> str:
        indent = indent_of(self.lines[stmt.lineno - 1])
        end = stmt.end_lineno or stmt.lineno
        out = list(self.lines)
        out[end:end] = [indent + line for line in new_lines]
        return "\n".join(out)

    def first_body_statement(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
        """Where code goes at the top of a function: after its docstring, if any."""
        body = func.body
        if (
            len(body) > 1
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            return body[1]
        return body[0]

    @property
    def unit(self) -> str:
        return indent_unit(self.lines)

    def candidate(self, code: str, rule: str, note: str, tier: int = 0) -> Candidate:
        return Candidate(Change(code=code, rule=rule, notes=(Note(self.line, note),)), tier)


def literal_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def is_call(node: ast.AST | None, *names: str) -> bool:
    """``node`` is a call of one of ``names`` (a plain name or a method name)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    return name in names
