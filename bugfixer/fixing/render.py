"""How fixes are shown: explanations as prose, highlighted code, and a line-numbered diff.

Everything here is rendered on the server, so the page needs no script to show a
result, and the streamed result is the same HTML as the one on a saved fix's page.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from markupsafe import Markup, escape
from pygments import highlight as _highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.style import Style
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

from bugfixer.fixing.schemas import Verification

_INLINE = re.compile(r"`([^`\n]+)`|\*\*([^*\n]+)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def _inline(text: str) -> str:
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        if m.group(1) is not None:
            out.append(f"<code>{escape(m.group(1))}</code>")
        else:
            out.append(f"<strong>{escape(m.group(2))}</strong>")
        last = m.end()
    out.append(str(escape(text[last:])))
    return "".join(out)


def explanation_html(text: str) -> Markup:
    """Model prose as HTML: paragraphs, lists, `code` and **bold**; everything else escaped.

    Models write a little markdown whatever they are told; showing ``###`` and
    backticks raw looks broken, and a full markdown engine would be a larger attack
    surface than this handful of forms. ``app.js`` renders streamed text the same way.
    """
    blocks: list[str] = []
    para: list[str] = []
    items: list[str] = []
    fence: list[str] | None = None

    def flush() -> None:
        if para:
            blocks.append("<p>" + "<br>".join(_inline(line) for line in para) + "</p>")
            para.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        if fence is not None:
            if _FENCE.match(line):
                blocks.append(f'<pre tabindex="0"><code>{escape(chr(10).join(fence))}</code></pre>')
                fence = None
            else:
                fence.append(line)
            continue
        if _FENCE.match(line):
            flush()
            fence = []
        elif not line.strip():
            flush()
        elif _HEADING.match(line):
            flush()
            title = _HEADING.sub("", line).strip()
            if title.rstrip(":").lower() != "explanation":  # the pane already says so
                blocks.append(f'<p class="lead">{_inline(title)}</p>')
        elif _BULLET.match(line):
            if para:
                flush()
            items.append(_BULLET.sub("", line).strip())
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
        else:
            if items:
                flush()
            para.append(line.strip())
    if fence is not None:
        blocks.append(f'<pre tabindex="0"><code>{escape(chr(10).join(fence))}</code></pre>')
    flush()
    return Markup("".join(blocks))


def unified_diff(original: str, fixed: str | None) -> str:
    if fixed is None:
        return ""
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        fixed.splitlines(keepends=True),
        fromfile="your code",
        tofile="fixed code",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- highlighting ------------------------------------------------------------------------

# Text must stay readable (WCAG AA, 4.5:1) on every background a line can have.
_BACKGROUNDS = ("#ffffff", "#f6f8fa", "#e6ffec", "#ffebe9", "#eef1f6")
_MIN_CONTRAST = 4.6


def _luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(color: str) -> str:
    """``color`` darkened just enough to pass AA on every code background."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(101):
        k = 1 - step / 100
        candidate = f"#{round(r * k):02x}{round(g * k):02x}{round(b * k):02x}"
        if all(_contrast(candidate, bg) >= _MIN_CONTRAST for bg in _BACKGROUNDS):
            return candidate
    return "#000000"


@lru_cache(maxsize=1)
def _style() -> type[Style]:
    """Pygments' default palette, with each colour darkened until it passes AA."""
    base = get_style_by_name("default")
    styles: dict[_TokenType, str] = {}
    for token, definition in base.styles.items():
        parts = []
        for part in definition.split():
            if re.fullmatch(r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}", part):
                full = part if len(part) == 7 else "#" + "".join(c * 2 for c in part[1:])
                part = readable(full.lower())
            elif part.startswith(("bg:", "border:")):
                continue
            parts.append(part)
        styles[token] = " ".join(parts)
    return type("ReadableStyle", (Style,), {"styles": styles, "background_color": "#f6f8fa"})


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:  # type: ignore[type-arg]
    return HtmlFormatter(cssclass="hl", wrapcode=True, style=_style())


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return _formatter().get_style_defs(".hl")


def highlight(code: str, language: str) -> Markup:
    return Markup(_highlight(code, lexer_for(language), _formatter()))


@lru_cache(maxsize=64)
def lexer_for(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def _css_class(token: _TokenType) -> str:
    while token not in STANDARD_TYPES:
        token = token.parent
    return STANDARD_TYPES[token]


def highlight_lines(code: str, language: str) -> list[Markup]:
    """One highlighted HTML fragment per line, so a diff can show each line on its own.

    Tokens that span lines (docstrings, block comments) are cut at each newline and
    reopened on the next line, which keeps every fragment well-formed.
    """
    lines: list[list[str]] = [[]]
    for token, value in lexer_for(language).get_tokens(code):
        cls = _css_class(token)
        for i, piece in enumerate(value.split("\n")):
            if i:
                lines.append([])
            if piece:
                text = str(escape(piece))
                lines[-1].append(f'<span class="{cls}">{text}</span>' if cls else text)
    if code.endswith("\n") or not code:
        lines.pop()
    return [Markup("".join(parts)) for parts in lines]


# -- the diff ----------------------------------------------------------------------------

Kind = Literal["same", "removed", "added", "gap"]


@dataclass(frozen=True)
class DiffLine:
    kind: Kind
    number: int | None  # in the original for "removed", in the fix otherwise
    html: Markup


@dataclass(frozen=True)
class SplitRow:
    """One row of the side-by-side view: the original line and the fixed line."""

    left: DiffLine | None
    right: DiffLine | None
    gap: int = 0  # unchanged lines skipped here, shown as one folded row


@dataclass(frozen=True)
class InlineRow:
    line: DiffLine
    old_number: int | None
    new_number: int | None
    gap: int = 0


@dataclass(frozen=True)
class DiffView:
    split: list[SplitRow]
    inline: list[InlineRow]
    added: int
    removed: int


CONTEXT_LINES = 3


def _normalize(text: str) -> str:
    """Newlines as the lexer sees them, so its lines and ours are the same lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def diff_view(original: str, fixed: str | None, language: str) -> DiffView | None:
    """The changes from ``original`` to ``fixed`` in both layouts, or None when nothing changed."""
    if fixed is None:
        return None
    original, fixed = _normalize(original), _normalize(fixed)
    old_lines, new_lines = _lines(original), _lines(fixed)
    old_html, new_html = highlight_lines(original, language), highlight_lines(fixed, language)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    groups = list(matcher.get_grouped_opcodes(CONTEXT_LINES))
    if not groups or all(tag == "equal" for group in groups for tag, *_ in group):
        return None
    split: list[SplitRow] = []
    inline: list[InlineRow] = []
    added = removed = 0
    shown_until = 0
    for group in groups:
        skipped = group[0][1] - shown_until
        if skipped > 0:
            split.append(SplitRow(None, None, gap=skipped))
            inline.append(InlineRow(DiffLine("gap", None, Markup("")), None, None, gap=skipped))
        for tag, i1, i2, j1, j2 in group:
            old = [DiffLine("removed", i + 1, old_html[i]) for i in range(i1, i2)]
            new = [DiffLine("added", j + 1, new_html[j]) for j in range(j1, j2)]
            if tag == "equal":
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                    left = DiffLine("same", i + 1, old_html[i])
                    right = DiffLine("same", j + 1, new_html[j])
                    split.append(SplitRow(left, right))
                    inline.append(InlineRow(right, i + 1, j + 1))
                continue
            removed += len(old)
            added += len(new)
            for k in range(max(len(old), len(new))):
                split.append(
                    SplitRow(old[k] if k < len(old) else None, new[k] if k < len(new) else None)
                )
            inline.extend(InlineRow(line, line.number, None) for line in old)
            inline.extend(InlineRow(line, None, line.number) for line in new)
        shown_until = group[-1][2]
    skipped = len(old_lines) - shown_until
    if skipped > 0:
        split.append(SplitRow(None, None, gap=skipped))
        inline.append(InlineRow(DiffLine("gap", None, Markup("")), None, None, gap=skipped))
    return DiffView(split=split, inline=inline, added=added, removed=removed)


# -- verification in words ---------------------------------------------------------------


@dataclass(frozen=True)
class VerificationSummary:
    headline: str  # "Ran your code: passes" / "Checked statically: not run"
    tone: Literal["ok", "bad", "neutral"]
    details: list[tuple[str, str]]  # (state, message): state is ok, failed or skipped


def verification_summary(verification: Verification, *, fixed: bool) -> VerificationSummary:
    """What was actually checked, in words a user can trust at a glance."""
    checks = {c.name: c for c in verification.checks}
    details = [
        ("skipped" if c.skipped else "ok" if c.ok else "failed", c.message)
        for c in verification.checks
    ]
    if not fixed:
        return VerificationSummary("No verified fix", "bad", details)
    ran = checks.get("runs")
    if ran is not None and not ran.skipped:
        return VerificationSummary(
            f"Ran your code: {'passes' if ran.ok else 'fails'}",
            "ok" if ran.ok else "bad",
            details,
        )
    examples = checks.get("doctests")
    if examples is not None and not examples.skipped:
        return VerificationSummary(
            f"Ran your docstring examples: {'pass' if examples.ok else 'fail'}",
            "ok" if examples.ok else "bad",
            details,
        )
    if any(not c.skipped for c in verification.checks):
        return VerificationSummary("Checked statically: not run", "neutral", details)
    return VerificationSummary("Not verified: no checker for this language", "neutral", details)
