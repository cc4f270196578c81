"""Diffs and syntax highlighting (pygments; the stylesheet is served by the app)."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from markupsafe import Markup, escape
from pygments import highlight as _highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(cssclass="hl", wrapcode=True)


_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def explanation_html(text: str) -> Markup:
    """Plain text with `backticked` spans shown as code; everything else escaped."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape(text))))


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


def highlight(code: str, language: str) -> Markup:
    return Markup(_highlight(code, _lexer(language), _FORMATTER))


def highlight_diff(diff: str) -> Markup:
    return Markup(_highlight(diff, DiffLexer(), _FORMATTER))


@lru_cache(maxsize=64)
def _lexer(language: str):  # type: ignore[no-untyped-def]
    try:
        return get_lexer_by_name(language, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return HtmlFormatter(style="friendly").get_style_defs(".hl")
