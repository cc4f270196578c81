"""parse_reply on the many shapes real models answer in."""

from __future__ import annotations

import pytest

from bugfixer.fixing.parsing import EMPTY_REPLY, NO_EXPLANATION, parse_reply

CODE = "def total(items):\n    return sum(item.price for item in items)\n"
FENCED = f"```python\n{CODE}```"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "shop.py", line 2, in total\n'
    "    return sum(item.prize for item in items)\n"
    "AttributeError: 'Item' object has no attribute 'prize'"
)
WHY = "`prize` is a typo for `price`."

# (id, reply, language, expected explanation, expected code)
CASES = [
    (
        "requested-format",
        f"### Explanation\n{WHY}\n\n### Fixed code\n{FENCED}\n",
        "python",
        WHY,
        CODE,
    ),
    (
        "other-heading-levels-and-case",
        f"# EXPLANATION\n{WHY}\n\n## corrected code:\n{FENCED}",
        "python",
        WHY,
        CODE,
    ),
    (
        "bold-labels-with-inline-text",
        f"**Explanation:** {WHY}\n\n**Fixed code:**\n\n{FENCED}",
        "python",
        WHY,
        CODE,
    ),
    (
        "plain-labels-solution",
        f"Explanation:\n{WHY}\n\nSolution:\n```\n{CODE}```",
        "python",
        WHY,
        CODE,
    ),
    (
        "heading-fix",
        f"## Why it fails\n{WHY}\n\n## Fix\n{FENCED}",
        "python",
        WHY,
        CODE,
    ),
    (
        "chatter-before-and-after",
        f"Sure! {WHY}\n\nHere is the corrected code:\n\n{FENCED}\n\n"
        "Let me know if you have any other questions!",
        "python",
        WHY,
        CODE,
    ),
    (
        "xml-tags",
        f"<explanation>\n{WHY}\n</explanation>\n<fixed_code>\n{CODE}</fixed_code>",
        "python",
        WHY,
        CODE,
    ),
    (
        "xml-tags-around-a-fence",
        f"<explanation>{WHY}</explanation>\n\n<fixed_code>\n{FENCED}\n</fixed_code>",
        "python",
        WHY,
        CODE,
    ),
    (
        "json-object",
        '{"explanation": "`prize` is a typo for `price`.", "fixed_code": '
        '"def total(items):\\n    return sum(item.price for item in items)"}',
        "python",
        WHY,
        CODE,
    ),
    (
        "json-in-a-fence-with-a-fenced-value",
        '```json\n{\n  "explanation": "`prize` is a typo for `price`.",\n  "fixed_code": '
        '"```python\\ndef total(items):\\n    return sum(item.price for item in items)\\n```"\n}'
        "\n```",
        "python",
        WHY,
        CODE,
    ),
    (
        "json-cut-off-mid-string",
        '{"explanation": "`prize` is a typo for `price`.", "fixed_code": '
        '"def total(items):\\n    return sum(item.price for item in items)\\n',
        "python",
        WHY,
        CODE,
    ),
    (
        "tilde-fence",
        f"### Explanation\n{WHY}\n\n### Fixed code\n~~~python\n{CODE}~~~\n",
        "python",
        WHY,
        CODE,
    ),
    (
        "traceback-block-is-never-the-fix",
        f"Your code fails with:\n\n```\n{TRACEBACK}\n```\n\n{WHY}\n\n```\n{CODE}```",
        "python",
        f"Your code fails with:\n\n{WHY}",
        CODE,
    ),
    (
        "original-and-fixed-blocks-without-headings",
        "Your version:\n```python\ndef total(items):\n"
        f"    return sum(item.prize for item in items)\n```\n{WHY} Corrected:\n{FENCED}",
        "python",
        "Your version:\n```python\ndef total(items):\n    return sum(item.prize for item in "
        f"items)\n```\n{WHY} Corrected:",
        CODE,
    ),
    (
        "fixed-code-heading-wins-over-later-blocks",
        f"### Fixed code\n{FENCED}\n\n### Explanation\n{WHY} Run it with:\n\n"
        "```python\nprint(total([]))\n```",
        "python",
        f"{WHY} Run it with:\n\n```python\nprint(total([]))\n```",
        CODE,
    ),
    (
        "shell-command-block-is-not-the-fix",
        f"{WHY}\n\n{FENCED}\n\nThen run:\n\n```bash\npython shop.py\n```",
        "python",
        f"{WHY}\n\nThen run:\n\n```bash\npython shop.py\n```",
        CODE,
    ),
    (
        "fence-cut-off-by-the-token-limit",
        f"### Explanation\n{WHY}\n\n### Fixed code\n```python\n{CODE.rstrip()}",
        "python",
        WHY,
        CODE,
    ),
    (
        "fixed-code-section-without-a-fence",
        f"### Explanation\n{WHY}\n\n### Fixed code\n\n{CODE}",
        "python",
        WHY,
        CODE,
    ),
    (
        "indented-fence-inside-a-list",
        f"1. {WHY}\n2. Fixed code:\n\n   ```python\n   def total(items):\n"
        "       return sum(item.price for item in items)\n   ```\n",
        "python",
        f"1. {WHY}",
        CODE,
    ),
    (
        "code-only",
        f"{FENCED}\n",
        "python",
        NO_EXPLANATION,
        CODE,
    ),
    (
        "bare-code-without-fence-or-prose",
        CODE,
        "python",
        NO_EXPLANATION,
        CODE,
    ),
    (
        "no-fix-offered",
        "### Explanation\nI cannot tell what is wrong without the definition of `Item`.",
        "python",
        "I cannot tell what is wrong without the definition of `Item`.",
        None,
    ),
    (
        "reasoning-block-is-ignored",
        f"<think>Maybe the block is:\n```python\nwrong = True\n```\n</think>\n"
        f"### Explanation\n{WHY}\n### Fixed code\n{FENCED}",
        "python",
        WHY,
        CODE,
    ),
    (
        "windows-line-endings-and-language-alias",
        f"### Explanation\r\n{WHY}\r\n### Fixed code\r\n```py3\r\n"
        + CODE.replace("\n", "\r\n")
        + "```",
        "python",
        WHY,
        CODE,
    ),
    (
        "other-language-last-matching-block",
        "The loop needs `let`.\n\n```js\nfor (i = 0; i < 3; i++) {}\n```\n\nUse:\n\n"
        "```javascript\nfor (let i = 0; i < 3; i++) {\n  console.log(i);\n}\n```",
        "javascript",
        "The loop needs `let`.\n\n```js\nfor (i = 0; i < 3; i++) {}\n```",
        "for (let i = 0; i < 3; i++) {\n  console.log(i);\n}\n",
    ),
    (
        "comment-that-looks-like-a-heading-stays-in-the-code",
        "### Explanation\nMissing colon.\n\n### Fixed code\n```python\n# Fixed code\n"
        "if ready:\n    go()\n```",
        "python",
        "Missing colon.",
        "# Fixed code\nif ready:\n    go()\n",
    ),
    ("empty-reply", "   \n", "python", EMPTY_REPLY, None),
]


@pytest.mark.parametrize(
    ("reply", "language", "explanation", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reply_shapes(reply: str, language: str, explanation: str, code: str | None) -> None:
    parsed = parse_reply(reply, language)
    assert parsed.fixed_code == code
    assert parsed.explanation == explanation


def test_code_keeps_its_indentation_and_gets_one_trailing_newline() -> None:
    code = "\n\nclass A:\n\tdef f(self):\n\t\treturn '''\n  text\n'''   \n\n\n"
    parsed = parse_reply(f"### Fixed code\n```python\n{code}```", "python")
    assert parsed.fixed_code == "class A:\n\tdef f(self):\n\t\treturn '''\n  text\n'''   \n"


def test_a_reply_that_is_only_a_traceback_has_no_fix() -> None:
    parsed = parse_reply(f"```\n{TRACEBACK}\n```", "python")
    assert parsed.fixed_code is None


def test_json_code_is_not_mistaken_for_an_answer_envelope() -> None:
    reply = 'Add the missing quote.\n\n```json\n{"name": "shop", "version": 2}\n```'
    parsed = parse_reply(reply, "json")
    assert parsed.fixed_code == '{"name": "shop", "version": 2}\n'
    assert parsed.explanation == "Add the missing quote."
