"""What of a model's answer may be shown while it is still being written: the prose only.

The fixed program is what a fix is charged for, so it must not leave the server before
the fix is verified and settled; it arrives in the final result. This filter passes on
the explanation as it streams and stops at the first thing that could be code (a fence,
a code heading or tag, a JSON answer, an indented or code-shaped line). It errs on the
side of showing less: the final result always carries the whole explanation.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6}\s|\*\*[^*]+\*\*\s*:?\s*$|[A-Z][\w ]{0,30}:\s*$)")
_EXPLANATION_HEADING = re.compile(
    r"^\s{0,3}(#{1,6}\s*|\*\*)?\s*(explanation|the bug|what went wrong|cause)\b[\s:*#]*$", re.I
)
_CODE_START = re.compile(
    r"^(\s{4,}|\t|def |class |import |from \S+ import|return\b|print\(|if .*:$|for .*:$|"
    r"while .*:$|function\b|const |let |var |#include|public |private |package |using |"
    r"fn |func |<\?php|[\w.\[\]]+\s*=[^=]|[})\];]\s*$)"
)
_OPEN_TAG = re.compile(r"<\s*(fixed|corrected|code|solution)", re.I)
_EXPLANATION_TAG = re.compile(r"</?\s*explanation\s*>", re.I)
_THINK_OPEN = re.compile(r"<\s*(think|thinking|reasoning)\s*>", re.I)
_THINK_CLOSE = re.compile(r"</\s*(think|thinking|reasoning)\s*>", re.I)
# A line this long that still looks like prose is streamed before its newline arrives.
_EARLY_PROSE_CHARS = 24


class ExplanationFilter:
    """Feed it the provider's text chunks; it returns the part that is safe to show."""

    def __init__(self) -> None:
        self._line = ""  # the current, unfinished line
        self._shown = 0  # how much of it was already passed on
        self._stopped = False
        self._thinking = False
        self._started = False  # any non-blank text seen

    def feed(self, chunk: str) -> str:
        if self._stopped:
            return ""
        out: list[str] = []
        text = self._line + chunk
        *complete, self._line = text.split("\n")
        shown = self._shown
        for line in complete:
            out.append(self._finish_line(line, shown))
            shown = 0
            if self._stopped:
                self._line = ""
                return "".join(out)
        self._shown = shown
        out.append(self._early(self._line))
        return "".join(out)

    def finish(self) -> str:
        """The end of the answer: the last, unfinished line, if it is prose."""
        line, shown = self._line, self._shown
        self._line, self._shown = "", 0
        if self._stopped or not line:
            return ""
        return self._finish_line(line, shown).rstrip("\n")

    def _finish_line(self, line: str, shown: int) -> str:
        if not self._safe(line):
            return ""
        return self._clean(line)[shown:] + "\n"

    def _early(self, line: str) -> str:
        """Part of an unfinished line, once it is long enough to be judged as prose."""
        if len(line) < _EARLY_PROSE_CHARS or self._shown >= len(line):
            return ""
        if not self._safe(line, final=False):
            return ""
        cleaned = self._clean(line)
        piece = cleaned[self._shown :]
        self._shown = len(cleaned)
        return piece

    def _safe(self, line: str, *, final: bool = True) -> bool:
        """Whether this line is prose; stops the filter at the first sign of code."""
        stripped = line.strip()
        if self._thinking:
            if final and _THINK_CLOSE.search(line):
                self._thinking = False
            return False
        if _THINK_OPEN.search(line):
            if final:
                self._thinking = not _THINK_CLOSE.search(line)
            return False
        if not stripped:
            return self._started
        if not self._started and stripped.startswith(("{", "[")):
            self._stopped = True  # a JSON answer: its fields come with the result
            return False
        if _FENCE.match(line) or _OPEN_TAG.search(line) or _CODE_START.match(line):
            self._stopped = True
            return False
        if _EXPLANATION_HEADING.match(_EXPLANATION_TAG.sub("", line)):
            return False  # the section's own title: not worth showing
        if _HEADING.match(line):
            self._stopped = True  # another section: the fixed code, most likely
            return False
        if final:
            self._started = True
        return True

    @staticmethod
    def _clean(line: str) -> str:
        return _EXPLANATION_TAG.sub("", line)
