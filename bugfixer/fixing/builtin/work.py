"""The code being fixed, step by step, and the explanation its steps add up to."""

from __future__ import annotations

import difflib

from bugfixer.fixing.builtin.model import Change


class Work:
    """The code being fixed, plus notes whose line numbers refer to the original."""

    def __init__(self, text: str) -> None:
        self.text = self.origin_text = text
        self.origin: list[int | None] = list(range(1, text.count("\n") + 2))
        self.notes: list[tuple[int | None, str]] = []
        self.rules: list[str] = []

    def apply(self, fix: Change) -> None:
        for note in fix.notes:
            line = None
            if note.line is not None and 1 <= note.line <= len(self.origin):
                line = self.origin[note.line - 1]
            self.notes.append((line, note.text))
        for rule in fix.rule.split("+"):
            if rule not in self.rules:
                self.rules.append(rule)
        old, new = self.text.split("\n"), fix.code.split("\n")
        origin: list[int | None] = []
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                origin += self.origin[i1:i2]
            else:
                origin += [None] * (j2 - j1)
        self.origin = origin
        self.text = fix.code


def explanation(notes: list[tuple[int | None, str]]) -> str:
    ordered = sorted(notes, key=lambda n: (n[0] is None, n[0] or 0))
    bullets = [f"Line {line}: {text}" if line else text for line, text in ordered]
    bullets = [b[0].upper() + b[1:] for b in bullets]
    if len(bullets) == 1:
        return bullets[0]
    return f"I made {len(bullets)} fixes:\n" + "\n".join(f"- {b}" for b in bullets)
