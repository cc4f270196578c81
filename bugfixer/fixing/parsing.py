"""Turn a model's free-form answer into an explanation and the complete fixed program.

Models are asked for "### Explanation" and "### Fixed code" sections, but answer in many
shapes: other headings, bold labels, XML-ish tags, JSON, chatter around the code, several
code blocks, a reasoning block, or output cut off mid-fence. This module accepts all of
them and never picks a block that is only the error message or a traceback.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass

from bugfixer.fixing.languages import ALIASES

NO_EXPLANATION = "The model returned a fix without an explanation."
EMPTY_REPLY = "The model returned an empty answer."


@dataclass(frozen=True)
class ParsedReply:
    explanation: str
    fixed_code: str | None


def parse_reply(text: str, language: str) -> ParsedReply:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _THINKING.sub("", text).strip()
    lang = _canonical(language)
    return _from_json(text, lang) or _from_tags(text, lang) or _from_markdown(text, lang)


# -- JSON and tags -----------------------------------------------------------------------

_EXPLANATION_KEYS = ("explanation", "explain", "reason", "analysis", "description")
_CODE_KEYS = ("fixed_code", "fixedcode", "fixed-code", "corrected_code", "correctedcode")
_LOOSE_CODE_KEYS = ("code", "fixed", "fix", "solution", "program")

_THINKING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.S | re.I)
_JSON_FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*json[ \t]*\n(.*?)\n[ \t]*\1[ \t]*$", re.M | re.S)
_TAG = re.compile(
    r"<(?P<name>explanation|fixed[_-]?code|corrected[_-]?code)>\n?(?P<body>.*?)"
    r"(?:</(?P=name)>|\Z)",
    re.S | re.I,
)


def _from_json(text: str, lang: str) -> ParsedReply | None:
    candidates = [text, *(m.group(2) for m in _JSON_FENCE.finditer(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end and "```" not in text[:start] + text[end:]:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate, strict=False)
        except (ValueError, RecursionError):  # nested past the parser's depth
            continue
        if isinstance(data, dict) and (parsed := _from_mapping(data, lang)):
            return parsed
    if re.match(r"(`{3,}json\s*)?\{", text):
        return _from_mapping(_truncated_json_fields(text), lang)
    return None


_JSON_STRING_FIELD = re.compile(r'"(?P<key>\w+)"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)("|\\?$)', re.S)


def _truncated_json_fields(text: str) -> dict[str, object]:
    """The string fields of a JSON object cut off mid-way (the model ran out of tokens)."""
    fields: dict[str, object] = {}
    for match in _JSON_STRING_FIELD.finditer(text):
        try:
            fields[match["key"]] = json.loads(f'"{match["value"]}"', strict=False)
        except ValueError:
            continue
    return fields


def _from_mapping(data: dict[str, object], lang: str) -> ParsedReply | None:
    fields = {str(k).lower(): v for k, v in data.items()}
    explanation = next((fields[k] for k in _EXPLANATION_KEYS if k in fields), None)
    code = next((fields[k] for k in _CODE_KEYS if k in fields), None)
    if code is None and explanation is not None:
        code = next((fields[k] for k in _LOOSE_CODE_KEYS if k in fields), None)
    if explanation is None and code is None:
        return None
    if not isinstance(explanation, str | None) or not isinstance(code, str | None):
        return None
    fixed = _code_from_body(code, lang) if code else None
    return ParsedReply(_final_explanation(explanation or "", fixed), fixed)


def _from_tags(text: str, lang: str) -> ParsedReply | None:
    found = {m.group("name").lower().replace("-", "_"): m for m in _TAG.finditer(text)}
    if not found:
        return None
    explanation_tag = found.get("explanation")
    code_tag = found.get("fixed_code") or found.get("corrected_code")
    if code_tag is not None:
        fixed = _code_from_body(code_tag.group("body"), lang)
    else:
        rest = text[: explanation_tag.start()] + text[explanation_tag.end() :]  # type: ignore[union-attr]
        fixed = _from_markdown(rest, lang).fixed_code
    if explanation_tag is not None:
        explanation = explanation_tag.group("body")
    else:
        rest = text[: code_tag.start()] + text[code_tag.end() :]  # type: ignore[union-attr]
        explanation = _from_markdown(rest, lang).explanation if rest.strip() else ""
    return ParsedReply(_final_explanation(explanation, fixed), fixed)


def _code_from_body(body: str, lang: str) -> str | None:
    """The code inside a tag or JSON field: its first fenced block, or the text itself."""
    lines = body.replace("\r\n", "\n").split("\n")
    blocks = [b for b in _blocks(lines) if not _is_error_output(b)]
    if blocks:
        return _tidy_code(blocks[0].code)
    return _tidy_code(body)


# -- markdown ----------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)$")
_FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_NOT_CODE_TAGS = {
    "text", "txt", "plain", "plaintext", "console", "output", "log", "traceback", "pytb",
    "pycon", "shell-session", "sh-session", "stderr", "stdout", "error", "diff", "patch",
}  # fmt: skip
_SHELL_TAGS = {"bash", "sh", "shell", "zsh", "powershell", "ps1", "cmd", "bat"}
_EXTRA_ALIASES = {
    "py3": "python", "python2": "python", "jsx": "javascript", "mjs": "javascript",
    "tsx": "typescript", "cxx": "cpp", "cc": "cpp", "hpp": "cpp", "h": "c",
    "zsh": "bash", "yml": "yaml", "htm": "html", "postgresql": "sql", "mysql": "sql",
}  # fmt: skip


@dataclass
class _Block:
    tag: str
    code: str
    start: int  # line index of the opening fence
    end: int  # line index of the closing fence, or the last line when cut off


def _canonical(name: str) -> str:
    key = name.strip().strip("{}.").lower()
    return ALIASES.get(key) or _EXTRA_ALIASES.get(key) or key


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        info = opening["info"].split()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE_CLOSE.match(lines[j])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                break
            body.append(_unindent(lines[j], indent))
            j += 1
        if j == len(lines) and body and body[-1].rstrip().endswith(fence):
            body[-1] = body[-1].rstrip()[: -len(fence)]  # cut off right after the code
        tag = _canonical(info[0]) if info else ""
        blocks.append(_Block(tag, "\n".join(body), i, min(j, len(lines) - 1)))
        i = j + 1
    return blocks


def _unindent(line: str, width: int) -> str:
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(width, stripped) :]


_HEADING_HASH = re.compile(r"^ {0,3}(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t#]*$")
_LIST_MARKER = r"^[ \t]*(?:[-*+][ \t]+|\d+[.)][ \t]+)?"
_HEADING_BOLD = re.compile(
    _LIST_MARKER + r"(?P<mark>\*\*|__)(?P<title>[^*_\n]{1,60}?)[ \t]*:?[ \t]*"
    r"(?P=mark)[ \t]*:?[ \t]*(?P<rest>.*)$"
)
_HEADING_COLON = re.compile(
    _LIST_MARKER + r"(?P<title>[A-Za-z][\w ()/'-]{0,40}?)[ \t]*:[ \t]*(?P<rest>.*)$"
)

_STARTS_AS_EXPLANATION = re.compile(
    r"^(explanation|explained|why|what|cause|root cause|problem|issue|analysis|diagnosis"
    r"|reason|summary|changes|notes?)\b"
)
_STRONG_CODE = re.compile(
    r"^(the )?(fix|bug ?fix|solution)$|\b(fixed|corrected|updated|revised|repaired|working"
    r"|complete|full|final) (code|program|version|script|source)\b"
)
_EXPLANATION_WORDS = re.compile(
    r"\b(explanation|explain|what (was|went) wrong|cause|problem|issue|analysis|reason"
    r"|diagnosis|summary|changes)\b"
)
_OTHER_WORDS = re.compile(
    r"\b(original|buggy|broken|before|input|given|your code|traceback|error|output|usage"
    r"|examples?|tests?|testing|run|running|how to)\b"
)
_WEAK_CODE = re.compile(
    r"\b(fix|fixed|corrected|correction|solution|code|program|updated|revised|after)\b"
)


def _classify(title: str) -> str | None:
    """``explanation``, ``code``, ``other`` or None (not a recognisable section title)."""
    title = re.sub(r"^(step )?\d+[.):]?\s*", "", title.strip(" \t*_`:").lower())
    if _STARTS_AS_EXPLANATION.match(title):
        return "explanation"
    if _STRONG_CODE.search(title):
        return "code"
    if _EXPLANATION_WORDS.search(title):
        return "explanation"
    if _OTHER_WORDS.search(title):
        return "other"
    if _WEAK_CODE.search(title):
        return "code"
    return None


def _heading(line: str, *, in_prose: bool) -> tuple[str, str] | None:
    """(kind, text after the title) when the line is a section heading.

    Without any code fence in the reply, a ``# ...`` line may be a code comment, so it
    counts only when it is unmistakably a section title.
    """
    if match := _HEADING_HASH.match(line):
        title, rest = match["title"], ""
        head, colon, tail = title.partition(":")
        if colon and _classify(head) in ("explanation", "code"):
            title, rest = head, tail.strip(" *_")
        if len(match["hashes"]) == 1 and not in_prose and not _unmistakable(title):
            return None
        return _classify(title) or "other", rest
    match = _HEADING_BOLD.match(line) or _HEADING_COLON.match(line)
    if match is None or len(match["title"].split()) > 5:
        return None
    kind, rest = _classify(match["title"]), match["rest"].strip()
    if kind == "explanation":
        return kind, rest
    # A label with text after it ("Fix: add a colon") is a sentence, not a section.
    if rest or kind is None or (kind == "other" and "mark" not in match.groupdict()):
        return None
    return kind, ""


def _unmistakable(title: str) -> bool:
    title = title.strip(" \t*_`:").lower()
    return bool(_STRONG_CODE.search(title)) or (
        len(title.split()) <= 2 and bool(_STARTS_AS_EXPLANATION.match(title))
    )


def _from_markdown(text: str, lang: str) -> ParsedReply:
    lines = text.split("\n")
    blocks = _blocks(lines)
    fenced_lines = {k for b in blocks for k in range(b.start, b.end + 1)}

    # Which section each line belongs to, and the heading lines themselves.
    kinds: list[str | None] = []
    headings: dict[int, tuple[str, str]] = {}
    kind: str | None = None
    for index, line in enumerate(lines):
        if index not in fenced_lines and (heading := _heading(line, in_prose=bool(blocks))):
            headings[index] = heading
            kind = heading[0]
        kinds.append(kind)

    chosen = _choose_block(blocks, kinds, lang)
    code_lines: set[int] = set()
    fixed: str | None = None
    if chosen is not None:
        fixed = _tidy_code(chosen.code)
        code_lines = set(range(chosen.start, chosen.end + 1))
    elif not blocks and (section := _unfenced_code_section(lines, headings)):
        fixed = _tidy_code(textwrap.dedent("\n".join(lines[i] for i in section)))
        code_lines = set(section)
    elif (
        not blocks
        and not set(kinds) & {"explanation", "code"}
        and lang in ("python", "")
        and _looks_like_python(text)
    ):
        return ParsedReply(NO_EXPLANATION, _tidy_code(text))

    if chosen is not None:
        before = [i for i in range(chosen.start) if lines[i].strip()]
        lead_in = lines[before[-1]].strip() if before else ""
        if _LEAD_IN.match(lead_in) or (lead_in.endswith(":") and len(lead_in.split()) <= 4):
            code_lines.add(before[-1])
    error_lines = {k for b in blocks if _is_error_output(b) for k in range(b.start, b.end + 1)}

    def prose(wanted: set[str | None], skipped: set[int]) -> str:
        out = []
        for index, line in enumerate(lines):
            if index in skipped or kinds[index] not in wanted:
                continue
            if index in headings:
                heading_kind, rest = headings[index]
                if heading_kind in ("explanation", "code"):
                    line = rest
            out.append(line)
        return "\n".join(out)

    # An explanation section is kept whole; elsewhere an echoed traceback is only noise.
    explanation = (
        prose({"explanation"}, code_lines).strip()
        or prose(set(kinds), code_lines | error_lines).strip()
    )
    return ParsedReply(_final_explanation(explanation, fixed), fixed)


def _choose_block(blocks: list[_Block], kinds: list[str | None], lang: str) -> _Block | None:
    usable = [b for b in blocks if b.tag not in ("diff", "patch") and not _is_error_output(b)]
    under_code_heading = [b for b in usable if kinds[b.start] == "code"]
    if under_code_heading:
        preferred = [b for b in under_code_heading if b.tag in (lang, "")]
        return (preferred or under_code_heading)[0]
    code_tags = [b for b in usable if b.tag not in _NOT_CODE_TAGS]
    if lang != "bash":
        code_tags = [b for b in code_tags if b.tag not in _SHELL_TAGS]
    for wanted in (lambda b: b.tag == lang, lambda b: b.tag == "", lambda b: True):
        matching = [b for b in code_tags if wanted(b)]
        if matching:
            return matching[-1]
    return None


def _unfenced_code_section(lines: list[str], headings: dict[int, tuple[str, str]]) -> list[int]:
    """Line numbers under the first code heading, up to an explanation heading."""
    start = next((i for i, (kind, _) in sorted(headings.items()) if kind == "code"), None)
    if start is None:
        return []
    section = []
    for index in range(start + 1, len(lines)):
        if headings.get(index, ("",))[0] == "explanation":
            break
        section.append(index)
    return section


_ERROR_LINE = re.compile(
    r"""^\s*(Traceback \(most recent call last\)
    |File\ ".*",\ line\ \d+
    |[\w.]*(Error|Exception|Warning|Exit|Interrupt)\b(:.*)?$
    |\^+\s*$
    |error(\[\w+\])?:
    |-->\s+\S+:\d+
    |at\ \S+.*:\d+(:\d+)?\)?$
    |\S+:\d+(:\d+)?:\s*(fatal\ )?error
    |Uncaught\ |Exception\ in\ thread\ |panic:|goroutine\ \d+
    |\$\ |>>>\ )""",
    re.X,
)


def _is_error_output(block: _Block) -> bool:
    """True for a traceback or compiler message rather than a program."""
    if block.tag in ("traceback", "pytb", "error", "stderr"):
        return True
    lines = [line for line in block.code.split("\n") if line.strip()]
    if not lines:
        return True
    if lines[0].lstrip().startswith("Traceback (most recent call last)"):
        return True
    erroneous, after_frame = 0, False
    for line in lines:
        if _ERROR_LINE.match(line):
            erroneous += 1
            after_frame = line.lstrip().startswith("File ")
        elif after_frame:  # the source line a traceback frame quotes
            erroneous += 1
            after_frame = False
    return erroneous / len(lines) >= 0.6


def _looks_like_python(text: str) -> bool:
    if "\n" not in text or not re.search(
        r"^(def |class |import |from |if |for |while |print\(|return\b|\w+\s*=)", text, re.M
    ):
        return False
    try:
        compile(text, "<reply>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


_LEAD_IN = re.compile(
    r"^(here('s| is| are)|below is|this is|the (corrected|fixed|updated|complete|full|working))"
    r"\b[^.!?]{0,80}:$",
    re.I,
)
_SIGN_OFF = re.compile(
    r"^(let me know|hope (this|that) helps|i hope|feel free|happy coding|good luck)\b.*$",
    re.I | re.M,
)
_OPENER = re.compile(r"^(sure|certainly|of course|absolutely|great question)[!.,]+\s*", re.I)


def _tidy_code(code: str) -> str | None:
    lines = code.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else None


def _final_explanation(explanation: str, fixed_code: str | None) -> str:
    explanation = _OPENER.sub("", _SIGN_OFF.sub("", explanation.strip()))
    explanation = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", explanation.strip())
    if explanation:
        return explanation
    return NO_EXPLANATION if fixed_code is not None else EMPTY_REPLY
