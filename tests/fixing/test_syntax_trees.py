"""Fixes in languages that are not run are at least parsed, with tree-sitter."""

from __future__ import annotations

import pytest

from bugfixer.fixing.syntax_trees import TREE_SITTER_LANGUAGES
from bugfixer.fixing.verify import verify

# language: (valid program, the same with a syntax error, the line of that error)
SNIPPETS: dict[str, tuple[str, str, int]] = {
    "javascript": (
        "function total(items) {\n  return items.reduce((a, b) => a + b, 0);\n}\n",
        "function total(items) {\n  return items.reduce((a, b) => a + b, 0;\n}\n",
        2,
    ),
    "typescript": (
        "interface User { name: string }\nconst greet = (u: User): string => `hi ${u.name}`;\n",
        "interface User { name: string }\nfunction greet(u: User): string {\n"
        "  return u.name +;\n}\n",
        3,
    ),
    "java": (
        "public class Main {\n  public static void main(String[] args) {\n"
        '    System.out.println("hi");\n  }\n}\n',
        "public class Main {\n  public static void main(String[] args) {\n"
        '    System.out.println("hi")\n  }\n}\n',
        3,
    ),
    "go": (
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n',
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi"\n}\n',
        6,
    ),
    "rust": (
        'fn main() {\n    let v = vec![1, 2, 3];\n    println!("{}", v.len());\n}\n',
        'fn main() {\n    let v = vec![1, 2, 3]\n    println!("{}", v.len());\n}\n',
        2,
    ),
    "c": (
        '#include <stdio.h>\n\nint main(void) {\n    printf("hi\\n");\n    return 0;\n}\n',
        '#include <stdio.h>\n\nint main(void) {\n    printf("hi\\n")\n    return 0;\n}\n',
        4,
    ),
    "cpp": (
        "#include <vector>\n\nint main() {\n    std::vector<int> v{1, 2};\n"
        "    return v.size() > 1 ? 0 : 1;\n}\n",
        "#include <vector>\n\nint main() {\n    std::vector<int> v{1, 2};\n"
        "    if (v.size() > 1 {\n        return 0;\n    }\n    return 1;\n}\n",
        5,
    ),
    "ruby": (
        "def total(items)\n  items.sum\nend\n\nputs total([1, 2])\n",
        "def total(items)\n  items.sum\nend\n\nputs total([1, 2)\n",
        5,
    ),
    "php": (
        "<?php\nfunction total($items) {\n    return array_sum($items);\n}\necho total([1, 2]);\n",
        "<?php\nfunction total($items) {\n    return array_sum($items;\n}\necho total([1, 2]);\n",
        3,
    ),
}


def test_every_tree_sitter_language_has_snippets():
    assert (
        set(SNIPPETS)
        == TREE_SITTER_LANGUAGES
        == {
            "javascript",
            "typescript",
            "java",
            "go",
            "rust",
            "c",
            "cpp",
            "ruby",
            "php",
        }
    )


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_a_valid_fix_parses(language):
    valid, _invalid, _line = SNIPPETS[language]
    verification = verify(language=language, original=valid, fixed=valid)
    assert verification.ok
    assert [c.name for c in verification.checks] == ["parses"]
    assert verification.checks[0].message.startswith("The fixed code parses as")


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_a_fix_with_a_syntax_error_fails_parses_with_its_line(language):
    valid, invalid, line = SNIPPETS[language]
    verification = verify(language=language, original=valid, fixed=invalid)
    assert not verification.ok
    (check,) = verification.checks
    assert check.name == "parses" and not check.ok and not check.skipped
    assert f"syntax error on line {line}:" in check.message


def test_php_without_an_opening_tag_is_parsed_as_php_not_as_html():
    assert verify(language="php", original="", fixed="echo total([1, 2]);\n").ok
    broken = verify(language="php", original="", fixed="echo total([1, 2];\n")
    assert not broken.ok and "line 1" in broken.checks[0].message


def test_a_block_never_closed_is_reported_from_where_it_starts():
    check = verify(
        language="ruby", original="", fixed="def total(items)\n  items.sum\n\nputs 1\n"
    ).checks[0]
    assert not check.ok
    assert check.message == (
        "Ruby syntax error on line 1: `def` starts code that does not parse, up to line 4."
    )


def test_tsx_is_accepted_as_typescript():
    component = "const App = (p: { name: string }) => <div>{p.name}</div>;\n"
    assert verify(language="typescript", original="", fixed=component).ok


def test_languages_without_a_grammar_are_still_marked_unverified():
    check = verify(language="kotlin", original="", fixed="fun main() {}").checks[0]
    assert check.skipped and "not verified" in check.message
