"""The ``parses`` check for languages that are not run, with tree-sitter grammars.

Each grammar is an ordinary wheel from PyPI (``tree-sitter-javascript`` and so on), so
nothing is downloaded or compiled at run time. A fix that tree-sitter cannot parse
without an error node fails, naming the first line it trips on.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from tree_sitter import Language, Node, Parser

from bugfixer.fixing.languages import LANGUAGES
from bugfixer.fixing.schemas import Check

# language -> (module, grammar functions tried in order: the first clean parse wins)
_GRAMMARS: dict[str, tuple[str, tuple[str, ...]]] = {
    "javascript": ("tree_sitter_javascript", ("language",)),
    "typescript": ("tree_sitter_typescript", ("language_typescript", "language_tsx")),
    "java": ("tree_sitter_java", ("language",)),
    "go": ("tree_sitter_go", ("language",)),
    "rust": ("tree_sitter_rust", ("language",)),
    "c": ("tree_sitter_c", ("language",)),
    "cpp": ("tree_sitter_cpp", ("language",)),
    "ruby": ("tree_sitter_ruby", ("language",)),
    "php": ("tree_sitter_php", ("language_php", "language_php_only")),
}

TREE_SITTER_LANGUAGES: frozenset[str] = frozenset(_GRAMMARS)


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    column: int
    description: str


@cache
def _language(module: str, function: str) -> Language:
    return Language(getattr(importlib.import_module(module), function)())


def _grammars(language: str, code: str) -> tuple[str, ...]:
    functions = _GRAMMARS[language][1]
    if language == "php" and "<?" not in code:
        # Without an opening tag the full PHP grammar reads everything as HTML text.
        return ("language_php_only",)
    return functions


def syntax_problem(language: str, code: str) -> SyntaxProblem | None:
    """The first syntax error tree-sitter finds, or None when the code parses."""
    module = _GRAMMARS[language][0]
    source = code.encode("utf-8", errors="surrogatepass")
    first: SyntaxProblem | None = None
    for function in _grammars(language, code):
        tree = Parser(_language(module, function)).parse(source)
        if not tree.root_node.has_error:
            return None
        first = first or _first_problem(tree.root_node, source)
    return first


def _first_problem(root: Node, source: bytes) -> SyntaxProblem:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            return _problem(node, f"missing `{node.type}`")
        if node.is_error:
            text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
            words = text.strip().split()
            near = f"`{words[0][:40]}`" if words else "input"
            first_line = node.start_point[0] + 1
            last = first_line + text.rstrip().count("\n")
            if last > first_line:
                # Error recovery swallowed a whole region: typically a block never closed.
                return _problem(node, f"{near} starts code that does not parse, up to line {last}")
            return _problem(node, f"unexpected {near}")
        stack.extend(reversed([child for child in node.children if child.has_error]))
    return _problem(root, "it does not parse")


def _problem(node: Node, description: str) -> SyntaxProblem:
    row, column = node.start_point
    return SyntaxProblem(line=row + 1, column=column + 1, description=description)


def parses(language: str, original: str, fixed: str) -> list[Check]:
    """The ``parses`` check for one of ``TREE_SITTER_LANGUAGES`` (verify's checker shape)."""
    name = LANGUAGES.get(language, language)
    problem = syntax_problem(language, fixed)
    if problem is None:
        return [Check(name="parses", ok=True, message=f"The fixed code parses as {name}.")]
    return [
        Check(
            name="parses",
            ok=False,
            message=f"{name} syntax error on line {problem.line}: {problem.description}.",
        )
    ]
