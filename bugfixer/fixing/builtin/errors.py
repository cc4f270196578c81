"""Reading the error text a user pasted, and saying what it means in plain words."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXC_RE = re.compile(
    r"^\s*(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Warning|Interrupt|Exit|Iteration))"
    r"(?::\s?(.*))?$"
)
_FILE_RE = re.compile(r'File "([^"]*)", line (\d+)')
_LINE_RE = re.compile(r"\bline (\d+)\b")
_LIBRARY_MARKERS = ("site-packages", "/lib/python", "\\lib\\", "<frozen", "dist-packages")


@dataclass(frozen=True)
class Hint:
    """The useful parts of a pasted traceback; every field may be empty."""

    exc_type: str = ""
    message: str = ""
    line: int | None = None
    last_line: str = ""

    @property
    def suggestion(self) -> str | None:
        """The name CPython itself suggested ("Did you mean: 'x'?"), if any."""
        match = re.search(r"Did you mean:? '([\w.]+)'\??", self.message)
        return match.group(1) if match else None


def parse_error(error: str) -> Hint:
    lines = [line.rstrip() for line in (error or "").splitlines() if line.strip()]
    exc_type = message = last = ""
    for line in reversed(lines):
        match = _EXC_RE.match(line)
        if match:
            exc_type, message, last = match.group(1), (match.group(2) or "").strip(), line.strip()
            break
    if not last and lines:
        last = lines[-1].strip()
    line_no: int | None = None
    frames = list(_FILE_RE.finditer(error or ""))
    for match in frames:
        if not any(marker in match.group(1) for marker in _LIBRARY_MARKERS):
            line_no = int(match.group(2))
    if not frames:
        match = _LINE_RE.search("\n".join(line for line in lines if line.strip() != last))
        line_no = int(match.group(1)) if match else None
    return Hint(exc_type=exc_type, message=message, line=line_no, last_line=last)


_MEANINGS: list[tuple[str, str, str]] = [
    (
        "ZeroDivisionError",
        "",
        "the program divided a number by zero. Check the divisor first"
        " (for example `if count != 0:`) or handle the empty case separately.",
    ),
    (
        "IndexError",
        "",
        "the code asked for a position past the end of a list, tuple or string."
        " Remember indexes start at 0, so the last item of a list of length n is at n - 1.",
    ),
    (
        "KeyError",
        "",
        "a dictionary was asked for the key {message}, which it doesn't contain."
        " Check the spelling, test with `in` first, or use `.get()` with a default.",
    ),
    (
        "ValueError",
        r"invalid literal for int\(\)",
        "`int()` was given text that isn't a whole"
        " number ({message}). Strip or validate the input before converting it.",
    ),
    (
        "ValueError",
        "",
        "a function got a value of the right type but an unsuitable content: {message}.",
    ),
    (
        "ModuleNotFoundError",
        "",
        "Python can't find that module ({message}). It may not be"
        " installed in this environment (`pip install ...`), or its name may be misspelled.",
    ),
    (
        "ImportError",
        "",
        "the import failed: {message}. The name may be misspelled or not exist"
        " in that module's version.",
    ),
    (
        "FileNotFoundError",
        "",
        "the file doesn't exist at that path ({message}). Relative paths"
        " are resolved from the folder the program is run from.",
    ),
    ("PermissionError", "", "the operating system refused access: {message}."),
    (
        "RecursionError",
        "",
        "a function kept calling itself without reaching a stopping case."
        " Check that the recursion has a base case that is always reached.",
    ),
    (
        "UnboundLocalError",
        "",
        "a variable is assigned somewhere inside the function, so Python"
        " treats it as local, but it is read before that assignment: {message}.",
    ),
    (
        "NameError",
        "",
        "Python doesn't know a name that the code uses: {message}. It may be"
        " misspelled, defined later, or never imported.",
    ),
    ("AttributeError", "", "the value doesn't have that attribute or method: {message}."),
    ("TypeError", "", "an operation got a value of the wrong type: {message}."),
    ("AssertionError", "", "an `assert` statement's condition was false."),
    ("StopIteration", "", "`next()` was called on an iterator that had no items left."),
    ("OverflowError", "", "a number got too large to represent: {message}."),
    ("MemoryError", "", "the program ran out of memory."),
    ("KeyboardInterrupt", "", "the program was stopped from the keyboard (Ctrl+C)."),
    ("TimeoutError", "", "an operation took too long and was abandoned."),
    ("JSONDecodeError", "", "the text being parsed as JSON isn't valid JSON: {message}."),
    ("NotImplementedError", "", "the code reached a function that was left unimplemented."),
    ("TabError", "", "Python couldn't read the code: {message}."),
    ("IndentationError", "", "Python couldn't read the code: {message}."),
    ("SyntaxError", "", "Python couldn't read the code: {message}."),
]


def explain_error(hint: Hint) -> str:
    """One sentence saying what the pasted error means, or '' when nothing was pasted."""
    if not hint.last_line:
        return ""
    where = f" (line {hint.line})" if hint.line else ""
    if not hint.exc_type:
        return f"The error text says: `{hint.last_line}`{where}."
    for exc_type, pattern, meaning in _MEANINGS:
        if hint.exc_type == exc_type and re.search(pattern, hint.message):
            text = meaning.format(message=hint.message or "no details")
            return f"The error is a `{hint.exc_type}`{where}: {text}"
    return f"The error says `{hint.last_line}`{where}."
