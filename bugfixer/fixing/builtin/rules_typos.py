"""Candidate fixes for habits from other languages and slips of the keyboard.

``retrun``, ``def f:``, ``i++``, ``&&`` and ``[1 2]`` all stop Python parsing; each
rule here rewrites only the line the parser complained about.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Iterator

from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.rules_syntax import Ctx, shown
from bugfixer.fixing.builtin.source import code_mask, code_part

_KEYWORDS = (
    "return",
    "import",
    "while",
    "for",
    "def",
    "class",
    "elif",
    "else",
    "from",
    "except",
    "finally",
    "with",
    "yield",
    "lambda",
    "pass",
    "break",
    "continue",
    "raise",
    "assert",
    "global",
    "try",
    "if",
    "print",
)


def misspelled_keyword(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"^(\s*)([A-Za-z_]\w*)(?=[\s:(])", ctx.line)
    if ctx.msg != "invalid syntax" or not match or keyword.iskeyword(match.group(2)):
        return
    word = match.group(2)
    close = difflib.get_close_matches(word, _KEYWORDS, n=2, cutoff=0.8)
    anagrams = [k for k in _KEYWORDS if len(word) >= 3 and sorted(k) == sorted(word)]
    options = anagrams or close
    if len(options) != 1:
        return
    new = match.group(1) + options[0] + ctx.line[match.end() :]
    yield change(
        ctx.with_line(new),
        "misspelled_keyword",
        Note(ctx.lineno, f"`{word}` looks like a misspelling of the keyword `{options[0]}`."),
    )


def missing_def_parens(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"^(\s*(?:async\s+)?def\s+\w+)(\s*):", ctx.line)
    if match and ctx.msg == "expected '('":
        new = match.group(1) + "()" + ctx.line[match.end(1) + len(match.group(2)) :]
        yield change(
            ctx.with_line(new),
            "missing_def_parens",
            Note(ctx.lineno, "a `def` needs parentheses after the name, even with no parameters."),
        )


def increment_operator(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"^(\s*)([\w.\[\]]+)\s*(\+\+|--)\s*$", code_part(ctx.line, ctx.info))
    if match and ctx.msg == "invalid syntax":
        op = "+=" if match.group(3) == "++" else "-="
        code = f"{match.group(1)}{match.group(2)} {op} 1"
        yield change(
            ctx.with_line(code + ctx.line[match.end() :]),
            "increment_operator",
            Note(ctx.lineno, f"Python has no `{match.group(3)}` operator; use `{code.strip()}`."),
        )


def logical_operator(ctx: Ctx) -> Iterator[Change]:
    if ctx.msg != "invalid syntax" or not ctx.has_line:
        return
    line, mask = ctx.line, code_mask(ctx.line)
    words = {"&&": " and ", "||": " or ", "!": "not "}
    edits = [
        m
        for m in re.finditer(r"\s*(&&|\|\|)\s*|!(?!=)\s*", line)
        if mask[m.start(1) if m.group(1) else m.start()]
    ]
    if not edits:
        return
    new, used = line, []
    for m in reversed(edits):
        op = m.group(1) or "!"
        new = new[: m.start()] + words[op] + new[m.end() :]
        used.insert(0, f"`{op}` → `{words[op].strip()}`")
    yield change(
        ctx.with_line(new),
        "logical_operator",
        Note(ctx.lineno, "Python spells logical operators as words: " + ", ".join(used) + "."),
    )


def missing_comma(ctx: Ctx) -> Iterator[Change]:
    if "forgot a comma" not in ctx.msg or ctx.err.end_lineno != ctx.lineno:
        return
    line, mask = ctx.line, code_mask(ctx.line)
    end = min((ctx.err.end_offset or 0) - 1, len(line))
    words = set(keyword.kwlist)
    gaps = []
    for match in re.finditer(r"([\w'\")\]}]+)( +)(?=([\w'\"(\[{]+))", line[:end]):
        left, right = match.group(1), match.group(3)
        if match.start(2) <= ctx.col or not mask[match.start(2)]:
            continue
        if left[-1] in "'\"" and right[0] in "'\"":
            continue
        if re.sub(r"\W", "", left) in words or re.sub(r"\W", "", right) in words:
            continue
        gaps.append(match.start(2))
    if gaps:
        new = line[: gaps[-1]] + "," + line[gaps[-1] :]
        yield change(
            ctx.with_line(new),
            "missing_comma",
            Note(ctx.lineno, f"{shown(line[ctx.col : end])} needs a comma between the items."),
        )


# ``missing_def_parens`` is not here: the engine tries it before the colon rule.
RULES = (
    misspelled_keyword,
    increment_operator,
    logical_operator,
    missing_comma,
)
