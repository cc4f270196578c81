"""The chat prompt that asks a model for an explanation and a complete fixed program at once.

The answer format (two markdown sections, one fenced block) is what small local models
follow most reliably; ``parsing.parse_reply`` also accepts the usual deviations from it.
"""

from __future__ import annotations

import re

from bugfixer.fixing.languages import LANGUAGES
from bugfixer.fixing.providers.base import FixPrompt

SYSTEM_PROMPT = """\
You are an expert programmer who fixes bugs. You get a program, usually with the error \
it produces. Find the cause and fix it with the smallest change that makes the program \
correct; keep everything else (names, structure, comments, formatting) as it is.

Answer in exactly this format, with nothing before or after it:

### Explanation
Two to five plain sentences for the programmer: what the error means, why it happens, \
and what you changed.

### Fixed code
```<language>
<the COMPLETE corrected program, not a diff or an excerpt>
```

If you are not confident you can fix it, say why under "### Explanation" and leave out \
the "### Fixed code" section."""


def build_messages(prompt: FixPrompt) -> list[dict[str, str]]:
    """The chat messages for one request, for a first attempt or the repair retry."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": build_user_prompt(prompt)},
    ]


def build_user_prompt(prompt: FixPrompt) -> str:
    language = LANGUAGES.get(prompt.language, prompt.language) or "unknown"
    parts = [f"Language: {language}", "", "Code:", fenced(prompt.code, prompt.language), ""]
    if prompt.error.strip():
        parts += ["Error:", fenced(prompt.error, "text")]
    else:
        parts.append("Error: none given; find the bug by reading the code.")
    if prompt.test.strip():
        parts += [
            "",
            "This test is run right after the program and must pass (do not change it; "
            "leave it out of your answer):",
            fenced(prompt.test, prompt.language),
        ]
    if prompt.feedback is not None:
        parts += [
            "",
            "Your previous fix was:",
            fenced(prompt.previous_fix or "", prompt.language),
            "",
            "It was checked (parsed, and for Python run with the test) and failed:",
            fenced(prompt.feedback, "text"),
            "",
            "Correct the fix so that it passes the checker, and answer again in the same "
            "format with the complete program.",
        ]
    return "\n".join(parts)


def fenced(text: str, info: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"
