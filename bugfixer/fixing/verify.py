"""Checks every fixed program passes before a user sees it."""

from __future__ import annotations

import ast
import io
import json
import tokenize
from collections.abc import Callable
from functools import partial

from pyflakes import checker as pyflakes_checker
from pyflakes import messages as pyflakes_messages

from bugfixer.fixing.schemas import Check, Verification
from bugfixer.fixing.syntax_trees import TREE_SITTER_LANGUAGES, parses

# What the parser, compiler and pyflakes raise on code nested thousands of levels deep
# (CPython's parser reports a stack overflow as MemoryError). Such code is not a fix.
TOO_DEEP = (RecursionError, MemoryError)
TOO_DEEP_MESSAGE = "The fixed code is nested too deeply to check."


def verify(*, language: str, original: str, fixed: str) -> Verification:
    if not fixed.strip():
        checks = [Check(name="not_empty", ok=False, message="The fixed code is empty.")]
    else:
        check = _CHECKERS.get(language)
        if check is None:
            checks = [
                Check(
                    name="syntax",
                    ok=True,
                    skipped=True,
                    message=f"No checker for {language} here; the fix was not verified.",
                )
            ]
        else:
            checks = check(original, fixed)
    return Verification(ok=all(c.ok for c in checks), checks=checks)


def failure_message(verification: Verification) -> str:
    """The checker's words, for the repair retry and for the user."""
    return " ".join(c.message for c in verification.checks if not c.ok)


def _python(original: str, fixed: str) -> list[Check]:
    try:
        tree = ast.parse(fixed)
    except SyntaxError as exc:
        where = f" on line {exc.lineno}" if exc.lineno else ""
        return [Check(name="parses", ok=False, message=f"SyntaxError{where}: {exc.msg}.")]
    except (ValueError, *TOO_DEEP):
        return [Check(name="parses", ok=False, message=TOO_DEEP_MESSAGE)]
    checks = [Check(name="parses", ok=True, message="The fixed code parses.")]
    try:
        compile(tree, "<fix>", "exec")
    except (SyntaxError, ValueError) as exc:
        checks.append(Check(name="compiles", ok=False, message=f"It does not compile: {exc}."))
        return checks
    except TOO_DEEP:
        checks.append(Check(name="compiles", ok=False, message=TOO_DEEP_MESSAGE))
        return checks
    checks.append(Check(name="compiles", ok=True, message="The fixed code compiles."))

    try:
        undefined = undefined_names(tree)
    except TOO_DEEP:
        checks.append(Check(name="no_new_undefined_names", ok=False, message=TOO_DEEP_MESSAGE))
        return checks
    # Only when the fix leaves names undefined is the input worth checking too.
    new = sorted(undefined - _names_known_in(original)) if undefined else []
    if new:
        listed = ", ".join(f"`{n}`" for n in new)
        checks.append(
            Check(
                name="no_new_undefined_names",
                ok=False,
                message=f"The fix uses names that are never defined: {listed}.",
            )
        )
    else:
        checks.append(
            Check(
                name="no_new_undefined_names",
                ok=True,
                message="The fix introduces no undefined names.",
            )
        )
    return checks


def undefined_names(tree: ast.AST) -> set[str]:
    found = pyflakes_checker.Checker(tree)
    return {
        m.message_args[0] for m in found.messages if isinstance(m, pyflakes_messages.UndefinedName)
    }


def _names_known_in(original: str) -> set[str]:
    """Names the input already leaned on, so the fix is not blamed for them.

    When the input parses, that is its own undefined names; when it does not, every
    identifier it spells is given the benefit of the doubt.
    """
    try:
        return undefined_names(ast.parse(original))
    except (SyntaxError, ValueError, *TOO_DEEP):
        pass
    names: set[str] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(original).readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return names


def _json(original: str, fixed: str) -> list[Check]:
    try:
        json.loads(fixed)
    except ValueError as exc:
        return [Check(name="parses", ok=False, message=f"Invalid JSON: {exc}.")]
    except RecursionError:
        return [Check(name="parses", ok=False, message=TOO_DEEP_MESSAGE)]
    return [Check(name="parses", ok=True, message="The fixed JSON parses.")]


_CHECKERS: dict[str, Callable[[str, str], list[Check]]] = {
    "python": _python,
    "json": _json,
    **{language: partial(parses, language) for language in sorted(TREE_SITTER_LANGUAGES)},
}
