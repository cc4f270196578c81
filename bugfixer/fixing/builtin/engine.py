"""The fixing loop: repair what stops the code compiling, then what would fail at run time.

Every step is checked by compiling (never running) the result, and the final answer
must compile and use no name the original didn't already leave undefined.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from bugfixer.fixing.builtin import rules_indent, rules_syntax, rules_typos
from bugfixer.fixing.builtin.errors import Hint, explain_error, parse_error
from bugfixer.fixing.builtin.imports import import_line, missing_import
from bugfixer.fixing.builtin.model import BuiltinFix, Change
from bugfixer.fixing.builtin.rules_attrs import misspelled_attribute
from bugfixer.fixing.builtin.rules_imports import misspelled_import
from bugfixer.fixing.builtin.rules_names import (
    bare_print,
    missing_self,
    misspelled_name,
    print_chevron,
    self_attribute,
)
from bugfixer.fixing.builtin.rules_syntax import Ctx
from bugfixer.fixing.builtin.rules_types import input_to_int, str_int_concat
from bugfixer.fixing.builtin.source import compile_error, parse, undefined_set
from bugfixer.fixing.builtin.work import Work, explanation

MAX_SYNTAX_PASSES = 40
MAX_SEMANTIC_PASSES = 5
MAX_CHARS = 100_000

# Order is confidence: the first candidate that compiles wins.
SYNTAX_RULES = (
    rules_syntax.python2_print,
    *rules_indent.RULES,
    rules_typos.missing_def_parens,
    *rules_syntax.RULES,
    *rules_typos.RULES,
)
SemanticRule = Callable[[str, ast.Module, Hint], Change | None]
# Imports go last so that line numbers in earlier notes still match the user's code.
SEMANTIC_RULES: tuple[SemanticRule, ...] = (
    misspelled_import,
    print_chevron,
    bare_print,
    missing_self,
    self_attribute,
    misspelled_name,
    misspelled_attribute,
    input_to_int,
    str_int_concat,
    missing_import,
)


def _rank(code: str, before: SyntaxError) -> int | None:
    """How much closer to compiling a candidate gets; None if it is no better."""
    after = compile_error(code)
    if after is None:
        return 0
    old_line, new_line = before.lineno or 0, after.lineno or 0
    if new_line > old_line:
        return 1
    if new_line == old_line and (after.offset or 0) > (before.offset or 0):
        return 2
    if new_line == old_line and after.msg != before.msg:
        return 3
    return None


def _fix_syntax(work: Work) -> SyntaxError | None:
    """Apply syntax rules until the code compiles; return the error left if it doesn't."""
    seen = {work.text}
    for _ in range(MAX_SYNTAX_PASSES):
        err = compile_error(work.text)
        if err is None:
            return None
        ctx = Ctx(work.text, err)
        best: tuple[int, Change] | None = None
        for rule in SYNTAX_RULES:
            for candidate in rule(ctx):
                if candidate.code in seen:
                    continue
                rank = _rank(candidate.code, err)
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, candidate)
            if best is not None and best[0] == 0:
                break
        if best is None:
            return err
        seen.add(best[1].code)
        work.apply(best[1])
    return compile_error(work.text)


def _fix_semantics(work: Work, hint: Hint) -> None:
    # The pasted error describes one failure: once a rule has acted on it, later passes
    # of that rule work from the code alone, so a stale hint can't trigger a second fix.
    used: set[SemanticRule] = set()
    for _ in range(MAX_SEMANTIC_PASSES):
        changed = False
        for rule in SEMANTIC_RULES:
            tree = parse(work.text)
            before = undefined_set(work.text)
            if tree is None or before is None:
                return
            fix = rule(work.text, tree, Hint() if rule in used else hint)
            if fix is None or fix.code == work.text or compile_error(fix.code) is not None:
                continue
            after = undefined_set(fix.code)
            if after is None or not _importable(after - before, fix.code):
                continue
            work.apply(fix)
            used.add(rule)
            changed = True
        if not changed:
            return


def _importable(names: frozenset[str], code: str) -> bool:
    """New undefined names are acceptable only if a later pass can import them
    (``maths.sqrt`` renamed to ``math.sqrt`` still needs ``import math``)."""
    tree = parse(code) if names else None
    return not names or (tree is not None and all(import_line(tree, n) for n in names))


def _no_fix(hint: Hint, reason: str) -> BuiltinFix:
    meaning = explain_error(hint)
    text = f"I couldn't find a confident fix for this code. {reason}"
    if meaning:
        text += f" {meaning}"
    return BuiltinFix(fixed_code=None, explanation=text.strip(), rules=())


def _why_not(err: SyntaxError | None, hint: Hint, work: Work) -> str:
    missing = sorted(undefined_set(work.text) or ()) if err is None else []
    if missing:
        names = ", ".join(f"`{name}`" for name in missing[:5])
        return (
            f"{names} {'is' if len(missing) == 1 else 'are'} used but never defined or "
            "imported, and nothing in the code or the standard library is a clear match."
        )
    if err is not None:
        line = err.lineno if err.lineno and err.lineno <= len(work.origin) else None
        line = work.origin[line - 1] if line else None
        where = f" on line {line}" if line else ""
        msg = err.msg or "invalid syntax"
        return (
            f"Python still can't read it{where} ({msg}), and none of the offline rules "
            "recognises how to repair that."
        )
    if hint.exc_type:
        return (
            "The code compiles and every name it uses is defined, so the problem only "
            "shows up when it runs, in a way the offline rules don't recognise."
        )
    return (
        "The code compiles and every name it uses is defined. Paste the error message "
        "or traceback you see so the problem can be pinned down."
    )


def fix_python(code: str, error: str = "", *, hint: Hint | None = None) -> BuiltinFix:
    """Fix common Python mistakes in ``code``, using ``error`` (a traceback) as a hint.

    Deterministic and offline; the user's code is compiled to check candidate fixes
    but never executed. ``hint`` replaces the parsed ``error`` when the failure is
    already known (the sandbox saw it).
    """
    hint = hint or parse_error(error)
    if not code.strip():
        return _no_fix(hint, "There is no code to look at.")
    if len(code) > MAX_CHARS:
        return _no_fix(hint, f"The code is longer than {MAX_CHARS:,} characters.")
    newline = "\r\n" if "\r\n" in code else "\n"
    work = Work(code.replace("\r\n", "\n"))
    try:
        err = _fix_syntax(work)
        if err is None:
            _fix_semantics(work, hint)
            err = compile_error(work.text)
    except (RecursionError, MemoryError):
        return _no_fix(hint, "The code is too deeply nested for the offline rules.")
    if err is not None or not work.notes:
        return _no_fix(hint, _why_not(err, hint, work))
    known = undefined_set(work.origin_text)
    if known is None:
        known = frozenset(re.findall(r"\w+", work.origin_text))
    if not (undefined_set(work.text) or frozenset()) <= known:
        return _no_fix(hint, "The only repair I found would create a name that doesn't exist.")
    return BuiltinFix(
        fixed_code=work.text.replace("\n", newline),
        explanation=explanation(work.notes),
        rules=tuple(work.rules),
        notes=tuple(work.notes),
    )
