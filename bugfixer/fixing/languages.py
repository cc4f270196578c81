"""Which languages a fix can be asked for, and a cheap guess when none is given."""

from __future__ import annotations

import re

LANGUAGES: dict[str, str] = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "java": "Java",
    "c": "C",
    "cpp": "C++",
    "csharp": "C#",
    "go": "Go",
    "rust": "Rust",
    "ruby": "Ruby",
    "php": "PHP",
    "kotlin": "Kotlin",
    "swift": "Swift",
    "sql": "SQL",
    "bash": "Bash",
    "json": "JSON",
    "html": "HTML",
    "css": "CSS",
}

ALIASES = {
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "node": "javascript",
    "ts": "typescript",
    "c++": "cpp",
    "cs": "csharp",
    "c#": "csharp",
    "golang": "go",
    "rs": "rust",
    "rb": "ruby",
    "sh": "bash",
    "shell": "bash",
    "kt": "kotlin",
}

# First match wins; each pattern is something only that language commonly has.
_SIGNS: list[tuple[str, re.Pattern[str]]] = [
    ("python", re.compile(r'Traceback \(most recent call last\)|File ".*", line \d+')),
    ("php", re.compile(r"<\?php")),
    ("cpp", re.compile(r"#include\s*<(iostream|vector|string)>|std::")),
    ("c", re.compile(r"#include\s*[<\"]")),
    ("java", re.compile(r"public\s+(static\s+)?(class|void)|System\.out\.print")),
    ("csharp", re.compile(r"using System;|Console\.Write")),
    ("go", re.compile(r"^package\s+\w+|\bfunc\s+\w+\(.*\)\s*\{|fmt\.Print", re.M)),
    ("rust", re.compile(r"\bfn\s+\w+\s*\(|\blet\s+mut\b|println!")),
    ("typescript", re.compile(r":\s*(string|number|boolean)\b|\binterface\s+\w+\s*\{")),
    (
        "javascript",
        re.compile(r"\bconsole\.log\(|\bfunction\s*\w*\s*\(|=>|\b(const|let|var)\s+\w+\s*="),
    ),
    ("json", re.compile(r"^\s*[\[{]\s*\"", re.S)),
    ("python", re.compile(r"^\s*(def|class|import|from|print|elif|for\s+\w+\s+in)\b", re.M)),
]


def offered_languages(supported: frozenset[str] | None) -> dict[str, str]:
    """The languages a form should offer: those the configured provider can fix."""
    if supported is None:
        return dict(LANGUAGES)
    return {code: name for code, name in LANGUAGES.items() if code in supported}


def normalize_language(name: str) -> str | None:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in LANGUAGES else None


def detect_language(code: str, error: str = "") -> str:
    for lang, pattern in _SIGNS:
        if pattern.search(error) or pattern.search(code):
            return lang
    return "python"
