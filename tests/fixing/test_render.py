"""How a result is drawn: a line-numbered diff, readable highlighting, checks in words."""

from __future__ import annotations

import re

from bugfixer.fixing.render import (
    _BACKGROUNDS,
    _contrast,
    diff_view,
    explanation_html,
    highlight_lines,
    stylesheet,
    verification_summary,
)
from bugfixer.fixing.schemas import Check, Verification

ORIGINAL = "def f()\n" + "".join(f"    x{i} = {i}\n" for i in range(10)) + "    return x9\n"
FIXED = ORIGINAL.replace("def f()", "def f():").replace("return x9", "return x0 + x9")


def test_diff_pairs_changed_lines_and_folds_unchanged_ones():
    view = diff_view(ORIGINAL, FIXED, "python")
    assert view is not None and (view.added, view.removed) == (2, 2)
    first = view.split[0]
    assert (first.left.kind, first.left.number, first.right.kind) == ("removed", 1, "added")
    assert [row.gap for row in view.split if row.gap] == [4]  # lines 5-8 are folded
    kinds = [row.line.kind for row in view.inline if not row.gap]
    assert kinds[:2] == ["removed", "added"] and kinds[-2:] == ["removed", "added"]
    last = view.inline[-1]
    assert (last.old_number, last.new_number) == (None, 12)


def test_no_diff_when_nothing_changed_or_there_is_no_fix():
    assert diff_view(ORIGINAL, ORIGINAL, "python") is None
    assert diff_view(ORIGINAL, None, "python") is None


def test_windows_line_endings_and_multiline_strings_keep_lines_aligned():
    code = 'x = """a\r\nb"""\r\nprint(x)\r\n'
    lines = highlight_lines(code.replace("\r\n", "\n"), "python")
    assert len(lines) == 3
    assert all(str(line).count("<span") == str(line).count("</span>") for line in lines)
    view = diff_view(code, code.replace("print(x)", "print(x.upper())"), "python")
    assert view is not None and view.split[-1].right.number == 3


def test_highlighted_code_passes_wcag_aa_on_every_line_background():
    colors = set(re.findall(r"(?<![-\w])color: (#[0-9a-f]{6})", stylesheet()))
    assert colors
    worst = min(_contrast(c, bg) for c in colors for bg in _BACKGROUNDS)
    assert worst >= 4.5


def test_verification_says_in_words_what_was_checked():
    static = Verification(ok=True, checks=[Check(name="parses", ok=True, message="Parses.")])
    assert verification_summary(static, fixed=True).headline == "Checked statically: not run"
    ran = Verification(
        ok=True,
        checks=[
            Check(name="parses", ok=True, message="Parses."),
            Check(name="runs", ok=True, message="Your program ran without the error."),
        ],
    )
    assert verification_summary(ran, fixed=True).headline == "Ran your code: passes"
    examples = Verification(
        ok=True,
        checks=[
            Check(name="runs", ok=True, skipped=True, message="Nothing to run."),
            Check(name="doctests", ok=True, message="2 examples pass."),
        ],
    )
    assert verification_summary(examples, fixed=True).headline == (
        "Ran your docstring examples: pass"
    )
    skipped = Verification(
        ok=True, checks=[Check(name="runs", ok=True, skipped=True, message="No sandbox here.")]
    )
    summary = verification_summary(skipped, fixed=True)
    assert summary.headline == "Not verified: no checker for this language"
    assert summary.details == [("skipped", "No sandbox here.")]
    assert verification_summary(static, fixed=False).headline == "No verified fix"


def test_explanations_render_markdown_as_prose_and_escape_html():
    html = str(explanation_html("### Explanation\nUse `x`.\n\n- **one**\n- two <b>\n"))
    assert "###" not in html and "Explanation" not in html  # the pane is already titled
    assert "<p>Use <code>x</code>.</p>" in html
    assert "<li><strong>one</strong></li><li>two &lt;b&gt;</li>" in html
