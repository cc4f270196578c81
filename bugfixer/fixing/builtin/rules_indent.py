"""Candidate fixes for indentation errors.

Indentation mistakes are ambiguous (does the next line belong inside the block or
not?), so these rules offer several readings in order of likelihood and let the
engine keep the first that compiles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.rules_syntax import Ctx
from bugfixer.fixing.builtin.source import indent_of, indent_unit, is_blank, width

_CLAUSES = re.compile(r"^\s*(else|elif|except|finally|case)\b")
_STATEMENT_ONLY = {
    "'return' outside function": "`return`",
    "'break' outside loop": "`break`",
    "'continue' not properly in loop": "`continue`",
    "'yield' outside function": "`yield`",
    "'await' outside function": "`await`",
}


def _code_lines(ctx: Ctx) -> list[int]:
    """Indexes of lines that start a statement (not blank, not inside brackets or strings)."""
    return [
        i
        for i, (line, info) in enumerate(zip(ctx.lines, ctx.infos, strict=True))
        if not is_blank(line) and not info.starts_in_string and not info.depth_start
    ]


def _shift(ctx: Ctx, first: int, old: str, new: str, block: bool) -> str:
    """Re-indent line ``first`` from ``old`` to ``new``, and its block when ``block``."""
    lines = list(ctx.lines)
    limit = width(old)
    for i in range(first, len(lines)):
        line = lines[i]
        if i > first:
            if not block:
                break
            if ctx.infos[i].starts_in_string:
                continue
            if is_blank(line):
                continue
            if width(indent_of(line)) < limit:
                break
        ws = indent_of(line)
        if ws.startswith(old):
            lines[i] = new + line[len(old) :]
        elif i == first:
            lines[i] = new + line.lstrip(" \t")
    return "\n".join(lines)


def mixed_tabs(ctx: Ctx) -> Iterator[Change]:
    if not isinstance(ctx.err, IndentationError):
        return
    tabbed = [
        i
        for i, (line, info) in enumerate(zip(ctx.lines, ctx.infos, strict=True))
        if "\t" in indent_of(line) and not info.starts_in_string
    ]
    if not tabbed:
        return
    for size in (4, 8, 2):
        lines = list(ctx.lines)
        for i in tabbed:
            ws = indent_of(lines[i])
            lines[i] = ws.expandtabs(size) + lines[i][len(ws) :]
        numbers = ", ".join(str(i + 1) for i in tabbed[:6]) + (" ..." if len(tabbed) > 6 else "")
        shown = f"Lines {numbers} were" if len(tabbed) > 1 else f"Line {numbers} was"
        yield change(
            "\n".join(lines),
            "mixed_tabs",
            Note(
                None,
                f"{shown} indented with tabs while others use spaces; Python 3 "
                f"refuses to mix them, so I replaced each tab with {size} spaces.",
            ),
        )


def unexpected_indent(ctx: Ctx) -> Iterator[Change]:
    if ctx.msg != "unexpected indent" or not ctx.has_line:
        return
    index = ctx.lineno - 1
    previous = [i for i in _code_lines(ctx) if i < index]
    target = indent_of(ctx.lines[previous[-1]]) if previous else ""
    current = indent_of(ctx.line)
    if width(target) >= width(current):
        return
    where = f"line {previous[-1] + 1}" if previous else "the start of the file"
    for block in (True, False):
        yield change(
            _shift(ctx, index, current, target, block),
            "unexpected_indent",
            Note(
                ctx.lineno,
                f"this line is indented more than {where} but doesn't follow a header "
                "ending in `:`, so I lined it up with the code before it.",
            ),
        )


def missing_indented_block(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"expected an indented block after (.*) on line (\d+)", ctx.msg)
    if not match:
        return
    header = int(match.group(2)) - 1
    if not 0 <= header < len(ctx.lines):
        return
    what = match.group(1).replace("'", "`")
    head_ws = indent_of(ctx.lines[header])
    inner = head_ws + indent_unit(ctx.lines)
    index = ctx.lineno - 1
    pass_note = Note(
        header + 1,
        f"the {what} has no body, so I added `pass` as a placeholder body.",
    )
    with_pass = "\n".join([*ctx.lines[: header + 1], inner + "pass", *ctx.lines[header + 1 :]])
    body = ctx.lines[index] if 0 <= index < len(ctx.lines) else ""
    gap = index > header + 1 and not any(line.strip() for line in ctx.lines[header + 1 : index])
    if gap or not body.strip() or _CLAUSES.match(body) or width(indent_of(body)) < width(head_ws):
        yield change(with_pass, "missing_indented_block", pass_note)
        return
    ends = [index]
    name = re.match(r"\s*(?:async\s+)?(?:def|class)\s+(\w+)", ctx.lines[header])
    paragraph = _paragraph_end(ctx.lines, index, name.group(1)) if name else index
    if paragraph > index:
        ends.insert(0, paragraph)
    for end in ends:
        lines = list(ctx.lines)
        for i in range(index, end + 1):
            if lines[i].strip():
                lines[i] = inner + lines[i][len(head_ws) :]
        span = f"line {index + 1}" if end == index else f"lines {index + 1}-{end + 1}"
        yield change(
            "\n".join(lines),
            "missing_indented_block",
            Note(
                header + 1,
                f"the {what} must be followed by an indented body, so I indented {span} under it.",
            ),
        )
    yield change(with_pass, "missing_indented_block", pass_note)


def _paragraph_end(lines: list[str], index: int, name: str) -> int:
    """Last line of the body a headless ``def`` most likely had.

    The body runs to its ``return``, and stops before the next definition or before
    a line that calls the function, which surely comes after it.
    """
    base = width(indent_of(lines[index]))
    call = re.compile(rf"\b{re.escape(name)}\s*\(")
    end = index
    for j in range(index, len(lines)):
        line = lines[j]
        if not line.strip() or width(indent_of(line)) < base:
            break
        level = width(indent_of(line)) == base
        if j > index and level and re.match(r"\s*(def|class|if __name__)\b", line):
            break
        if j > index and level and call.search(line) and not line.lstrip().startswith("return"):
            break
        end = j
        if level and line.lstrip().startswith("return"):
            break
    return end


def _levels(ctx: Ctx, index: int) -> list[str]:
    """Indentation strings of the blocks still open just before line ``index``."""
    stack = [""]
    for i in _code_lines(ctx):
        if i >= index:
            break
        ws = indent_of(ctx.lines[i])
        while width(ws) < width(stack[-1]):
            stack.pop()
        if width(ws) > width(stack[-1]):
            stack.append(ws)
    return stack


def inconsistent_dedent(ctx: Ctx) -> Iterator[Change]:
    if "unindent does not match" not in ctx.msg or not ctx.has_line:
        return
    index = ctx.lineno - 1
    current = indent_of(ctx.line)
    # Python says "unindent" because the line is to the left of the one before: the
    # writer meant to leave a block, so the enclosing levels to its left come first.
    levels = sorted(
        _levels(ctx, index),
        key=lambda ws: (width(ws) > width(current), abs(width(ws) - width(current))),
    )
    for ws in levels:
        for block in (True, False):
            yield change(
                _shift(ctx, index, current, ws, block),
                "inconsistent_dedent",
                Note(
                    ctx.lineno,
                    f"this line is indented by {width(current)} columns, which matches no "
                    f"enclosing block, so I lined it up at {width(ws)}.",
                ),
            )


def statement_outside_block(ctx: Ctx) -> Iterator[Change]:
    what = _STATEMENT_ONLY.get(ctx.msg)
    if what is None or not ctx.has_line:
        return
    index = ctx.lineno - 1
    previous = [i for i in _code_lines(ctx) if i < index]
    if not previous:
        return
    target = indent_of(ctx.lines[previous[-1]])
    current = indent_of(ctx.line)
    if width(target) <= width(current):
        return
    yield change(
        _shift(ctx, index, current, target, False),
        "statement_outside_block",
        Note(
            ctx.lineno,
            f"{what} was outside the block it belongs to, so I indented it to match "
            f"line {previous[-1] + 1}.",
        ),
    )


RULES = (
    mixed_tabs,
    unexpected_indent,
    missing_indented_block,
    inconsistent_dedent,
    statement_outside_block,
)
