"""Candidate fixes for errors the parser reports on one line.

Each rule yields candidates rather than a single answer: the engine compiles every
candidate and keeps the first that compiles, or that moves the error further down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.source import (
    OPENERS,
    LineInfo,
    balanced,
    code_mask,
    code_part,
    header_keyword,
    indent_of,
    replace_line,
    scan,
    split_top_level,
)


@dataclass
class Ctx:
    """The code and the compiler's complaint about it, as syntax rules need them."""

    text: str
    err: SyntaxError

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")
        self.infos: list[LineInfo] = scan(self.text)
        self.lineno = self.err.lineno or 0
        self.col = max((self.err.offset or 1) - 1, 0)
        self.msg = self.err.msg or ""

    @property
    def has_line(self) -> bool:
        return 1 <= self.lineno <= len(self.lines)

    @property
    def line(self) -> str:
        return self.lines[self.lineno - 1] if self.has_line else ""

    @property
    def info(self) -> LineInfo:
        return self.infos[self.lineno - 1]

    def with_line(self, new: str | list[str], index: int | None = None) -> str:
        return replace_line(self.lines, self.lineno - 1 if index is None else index, new)


def shown(code: str) -> str:
    code = code.strip()
    return f"`{code}`" if len(code) <= 60 else f"`{code[:57]}...`"


_CONTINUES = re.compile(r"[,(\[{+\-*/%=\\]$|\b(and|or|not|in)$")
_PRINT_RE = re.compile(r"^(\s*)print\b(.*)$")


def _print_call(rest: str) -> str | None:
    """Rewrite the arguments of a Python 2 print statement as a Python 3 call."""
    rest = rest.strip()
    target = None
    if rest.startswith(">>"):
        parts = split_top_level(rest[2:])
        target, rest = parts[0].strip(), ",".join(parts[1:]).strip()
        if not target:
            return None
    args = [part.strip() for part in split_top_level(rest)] if rest else []
    end = None
    if args and not args[-1]:
        args.pop()
        end = 'end=" "'
    if any(not arg for arg in args):
        return None
    args += [extra for extra in (end, f"file={target}" if target else None) if extra]
    return f"print({', '.join(args)})"


def python2_print(ctx: Ctx) -> Iterator[Change]:
    if not ctx.msg.startswith("Missing parentheses in call to 'print'"):
        return
    lines, notes = list(ctx.lines), []
    for i, (line, info) in enumerate(zip(lines, ctx.infos, strict=True)):
        if info.starts_in_string or info.depth_start:
            continue
        code = code_part(line, info)
        match = _PRINT_RE.match(code)
        if not match:
            continue
        rest = match.group(2)
        chevron = rest.strip().startswith(">>")
        if (
            not chevron
            and rest.strip()
            and (not rest[0].isspace() or rest.strip()[0] in "(=.,)[]+-*/%")
        ):
            continue
        if not balanced(rest):
            continue
        call = _print_call(rest)
        if call is None:
            continue
        lines[i] = match.group(1) + call + line[len(code) :]
        notes.append(
            Note(
                i + 1,
                f"{shown(code)} is Python 2 syntax. In Python 3 `print` is a function, "
                f"so it needs parentheses: `{call}`.",
            )
        )
    if notes:
        yield change("\n".join(lines), "python2_print", *notes)


def else_if(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"^(\s*)else\s+if\b", ctx.line)
    if match:
        new = match.group(1) + "elif" + ctx.line[match.end() :]
        yield change(
            ctx.with_line(new),
            "else_if",
            Note(
                ctx.lineno, "`else if` isn't Python; the keyword for another condition is `elif`."
            ),
        )


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def missing_colon(ctx: Ctx) -> Iterator[Change]:
    if not ctx.has_line or ctx.msg not in ("expected ':'", "invalid syntax"):
        return
    code = code_part(ctx.line, ctx.info)
    if code.endswith(":"):
        return
    kind = header_keyword(ctx.line)
    start = ctx.lineno - 1
    while kind is None and start > 0 and ctx.infos[start].depth_start:
        start -= 1
        kind = header_keyword(ctx.lines[start])
    if kind is None or (ctx.msg == "invalid syntax" and ctx.col < len(code)):
        return
    new = code + ":" + ctx.line[len(code) :]
    yield change(
        ctx.with_line(new),
        "missing_colon",
        Note(
            ctx.lineno,
            f"{shown(code)} is missing the colon that ends {_article(kind)} `{kind}` header. "
            "Python needs `:` before the indented block.",
        ),
    )


def _closers_for(ctx: Ctx, first: int, col: int, last: int) -> str | None:
    """The closing brackets needed for everything opened from ``(first, col)`` to ``last``."""
    stack: list[str] = []
    for index in range(first, last + 1):
        for pos, char in ctx.infos[index].brackets:
            if index == first and pos < col:
                continue
            if char in OPENERS:
                stack.append(char)
            elif stack and OPENERS[stack[-1]] == char:
                stack.pop()
            else:
                return None
    return "".join(OPENERS[c] for c in reversed(stack)) or None


def unclosed_bracket(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"'([(\[{])' was never closed", ctx.msg)
    if not match or not ctx.has_line or ctx.line[ctx.col : ctx.col + 1] != match.group(1):
        return
    first = ctx.lineno - 1
    base = len(indent_of(ctx.line))
    last = first
    while (
        last + 1 < len(ctx.lines)
        and ctx.lines[last + 1].strip()
        and _CONTINUES.search(code_part(ctx.lines[last], ctx.infos[last]))
    ):
        last += 1
    while True:
        closers = _closers_for(ctx, first, ctx.col, last)
        line, info = ctx.lines[last], ctx.infos[last]
        code = code_part(line, info)
        if closers and not info.starts_in_string:
            cut = len(code) - 1 if code.endswith(":") and header_keyword(ctx.line) else len(code)
            new = line[:cut] + closers + line[cut:]
            yield change(
                ctx.with_line(new, last),
                "unclosed_bracket",
                Note(
                    ctx.lineno,
                    f"the `{match.group(1)}` opened here is never closed, so I added "
                    f"`{closers}` at the end of line {last + 1}.",
                ),
            )
        last += 1
        if last >= len(ctx.lines) or last - first > 20:
            return
        following = ctx.lines[last]
        if not following.strip() or len(indent_of(following)) <= base:
            return


def mismatched_bracket(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"closing parenthesis '(.)' does not match opening parenthesis '(.)'", ctx.msg)
    if not match or ctx.line[ctx.col : ctx.col + 1] != match.group(1):
        return
    right = OPENERS[match.group(2)]
    new = ctx.line[: ctx.col] + right + ctx.line[ctx.col + 1 :]
    yield change(
        ctx.with_line(new),
        "mismatched_bracket",
        Note(
            ctx.lineno,
            f"`{match.group(1)}` closes a `{match.group(2)}`; the matching closer is `{right}`.",
        ),
    )


def unmatched_bracket(ctx: Ctx) -> Iterator[Change]:
    match = re.match(r"unmatched '(.)'", ctx.msg)
    if not match or ctx.line[ctx.col : ctx.col + 1] != match.group(1):
        return
    if re.match(r"\w\w", ctx.line[ctx.col - 1 : ctx.col] + ctx.line[ctx.col + 1 : ctx.col + 2]):
        return
    new = ctx.line[: ctx.col] + ctx.line[ctx.col + 1 :]
    yield change(
        ctx.with_line(new),
        "unmatched_bracket",
        Note(ctx.lineno, f"there is one `{match.group(1)}` too many, so I removed it."),
    )


def unclosed_string(ctx: Ctx) -> Iterator[Change]:
    if not ctx.msg.startswith("unterminated string literal") or not ctx.has_line:
        return
    line = ctx.line
    quote_at = next(
        (i for i in range(ctx.col, min(ctx.col + 4, len(line))) if line[i] in "'\""), -1
    )
    if quote_at < 0:
        return
    quote = line[quote_at]
    body_end = len(line.rstrip())
    tail = re.search(r"[)\]}:,]*$", line[quote_at + 1 : body_end])
    positions = list(range(body_end, body_end - len(tail.group(0)) - 1, -1)) if tail else []
    positions.sort(key=lambda p: not balanced(line[:p] + quote + line[p:]))
    for pos in positions:
        new = line[:pos] + quote + line[pos:]
        yield change(
            ctx.with_line(new),
            "unclosed_string",
            Note(
                ctx.lineno,
                f"the string starting with {quote} is never closed, so I added the closing "
                f"{quote}: {shown(code_part(new, scan(new)[0]))}.",
            ),
        )


def _lone_equals(line: str) -> list[int]:
    mask = code_mask(line)
    return [
        i
        for i, c in enumerate(line)
        if c == "="
        and mask[i]
        and (i == 0 or line[i - 1] not in "=<>!:+-*/%&|^@")
        and line[i + 1 : i + 2] != "="
    ]


def assignment_in_condition(ctx: Ctx) -> Iterator[Change]:
    suggested = "instead of '='" in ctx.msg
    if not (suggested or ctx.msg == "invalid syntax") or not ctx.has_line:
        return
    kind = header_keyword(ctx.line)
    if kind not in ("if", "elif", "while"):
        return
    positions = _lone_equals(code_part(ctx.line, ctx.info))
    end = (ctx.err.end_offset or 0) - 1
    near = [p for p in positions if ctx.col <= p < max(end, ctx.col + 1)]
    if not near and not suggested:
        return
    pos = (near or positions or [None])[0]
    if pos is None:
        return
    new = ctx.line[:pos] + "==" + ctx.line[pos + 1 :]
    yield change(
        ctx.with_line(new),
        "assignment_in_condition",
        Note(
            ctx.lineno,
            f"the `{kind}` condition uses `=`, which assigns a value. To compare, use `==`.",
        ),
    )


RULES = (
    else_if,
    assignment_in_condition,
    missing_colon,
    unclosed_string,
    unclosed_bracket,
    mismatched_bracket,
    unmatched_bracket,
)
