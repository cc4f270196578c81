"""Text-level helpers that work on code which may not parse yet.

Rules for syntax errors cannot lean on ``ast``, so they read lines through a small
quote-aware scanner instead; it only has to be right for ordinary code, because every
candidate fix is re-compiled before it is accepted.
"""

from __future__ import annotations

import ast
import functools
import re
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyflakes import checker, messages

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}
COMPOUND_KEYWORDS = (
    "if",
    "elif",
    "else",
    "for",
    "while",
    "def",
    "class",
    "try",
    "except",
    "finally",
    "with",
    "async",
    "match",
    "case",
)
_HEADER_RE = re.compile(r"^\s*(?:async\s+)?(" + "|".join(COMPOUND_KEYWORDS) + r")\b")


@dataclass
class LineInfo:
    """What the scanner learned about one physical line."""

    starts_in_string: bool = False
    depth_start: int = 0
    code_end: int = 0
    brackets: list[tuple[int, str]] = field(default_factory=list)
    open_quote: int | None = None


def scan(text: str) -> list[LineInfo]:
    """Find comments, brackets and unterminated quotes line by line, tracking triple quotes."""
    infos: list[LineInfo] = []
    in_str: str | None = None
    depth = 0
    for line in text.split("\n"):
        info = LineInfo(starts_in_string=in_str is not None, depth_start=depth)
        info.code_end = len(line)
        quote_start = 0
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if in_str is not None:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(in_str, i):
                    i += len(in_str)
                    in_str = None
                    continue
                i += 1
                continue
            if c == "#":
                info.code_end = i
                break
            if c in "'\"":
                in_str = c * 3 if line.startswith(c * 3, i) else c
                quote_start = i
                i += len(in_str)
                continue
            if c in OPENERS:
                depth += 1
                info.brackets.append((i, c))
            elif c in CLOSERS:
                depth = max(0, depth - 1)
                info.brackets.append((i, c))
            i += 1
        if in_str in ("'", '"') and not line.endswith("\\"):
            info.open_quote = quote_start
            in_str = None
        infos.append(info)
    return infos


def code_part(line: str, info: LineInfo) -> str:
    """The line without its comment and trailing whitespace."""
    return line[: info.code_end].rstrip()


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def width(ws: str, tabsize: int = 8) -> int:
    return len(ws.expandtabs(tabsize))


def is_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def header_keyword(line: str) -> str | None:
    match = _HEADER_RE.match(line)
    return match.group(1) if match else None


def indent_unit(lines: Iterable[str]) -> str:
    """The indentation step the author uses, so inserted lines look like theirs."""
    steps = [len(indent_of(line)) for line in lines if not is_blank(line)]
    positive = sorted({s for s in steps if s > 0})
    if any("\t" in indent_of(line) for line in lines):
        return "\t"
    return " " * (positive[0] if positive and positive[0] <= 8 else 4)


def replace_line(lines: list[str], index: int, new: str | list[str]) -> str:
    """Join ``lines`` with line ``index`` (0-based) replaced by one or more lines."""
    out = list(lines)
    out[index : index + 1] = [new] if isinstance(new, str) else new
    return "\n".join(out)


def apply_edits(text: str, edits: Iterable[tuple[int, int, int, str]]) -> str:
    """Apply ``(line, start, end, replacement)`` edits, line 1-based, columns in characters."""
    lines = text.split("\n")
    for lineno, start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        line = lines[lineno - 1]
        lines[lineno - 1] = line[:start] + new + line[end:]
    return "\n".join(lines)


def char_col(line: str, byte_col: int) -> int:
    """Convert an ``ast`` column (UTF-8 bytes) to a string index."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def node_span(text_lines: list[str], node: ast.AST) -> tuple[int, int, int]:
    """``(line, start, end)`` of a single-line node in characters, for ``apply_edits``."""
    line = text_lines[node.lineno - 1]
    return node.lineno, char_col(line, node.col_offset), char_col(line, node.end_col_offset)


def segment(text_lines: list[str], node: ast.AST) -> str:
    lineno, start, end = node_span(text_lines, node)
    return text_lines[lineno - 1][start:end]


# ``catch_warnings`` swaps process-wide state; serialise our own uses so engine calls
# running in worker threads cannot restore each other's filters out of order.
_WARNINGS_LOCK = threading.Lock()


def compile_error(text: str) -> SyntaxError | None:
    """Compile without running, so checks like ``'return' outside function`` count too."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<code>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return exc
        except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
            return SyntaxError(str(exc))
    return None


def parse(text: str) -> ast.Module | None:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def undefined_names(tree: ast.Module) -> list[tuple[str, int, int]]:
    """``(name, line, byte column)`` of every use pyflakes cannot resolve."""
    try:
        found = checker.Checker(tree, filename="<code>")
    except RecursionError:
        return []
    return [
        (m.message_args[0], m.lineno, m.col)
        for m in found.messages
        if isinstance(m, messages.UndefinedName)
    ]


@functools.lru_cache(maxsize=32)
def undefined_set(text: str) -> frozenset[str] | None:
    tree = parse(text)
    return None if tree is None else frozenset(name for name, _, _ in undefined_names(tree))


def parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def code_mask(line: str) -> list[bool]:
    """For each character of one line: is it code (not inside a string or comment)?"""
    mask = [False] * len(line)
    quote: str | None = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote is not None:
            if c == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if c == "#":
            break
        if c in "'\"":
            quote = c * 3 if line.startswith(c * 3, i) else c
            i += len(quote)
            continue
        mask[i] = True
        i += 1
    return mask


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets and strings."""
    mask = code_mask(text)
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if not mask[i]:
            continue
        if c in OPENERS:
            depth += 1
        elif c in CLOSERS:
            depth -= 1
        elif c == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def balanced(text: str) -> bool:
    mask = code_mask(text)
    depth = 0
    for i, c in enumerate(text):
        if mask[i] and c in OPENERS:
            depth += 1
        elif mask[i] and c in CLOSERS:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and scan(text)[0].open_quote is None
