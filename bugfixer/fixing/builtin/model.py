"""Small value types shared by the engine and its rules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinFix:
    """The engine's answer; ``fixed_code`` is None when no fix is confident enough to offer."""

    fixed_code: str | None
    explanation: str
    rules: tuple[str, ...]
    # ``(line, sentence)`` pairs behind the explanation, lines numbered in the input.
    notes: tuple[tuple[int | None, str], ...] = ()


@dataclass(frozen=True)
class Note:
    """One sentence of the explanation, tied to the line it is about.

    ``line`` is numbered in the code the rule looked at; the engine maps it back to the
    user's original line so explanations stay right after earlier fixes moved lines.
    """

    line: int | None
    text: str


@dataclass(frozen=True)
class Change:
    """A rule's proposed rewrite of the whole program, with why it was made."""

    code: str
    rule: str
    notes: tuple[Note, ...]


def change(code: str, rule: str, *notes: Note) -> Change:
    return Change(code=code, rule=rule, notes=notes)
