"""Adding the standard-library imports a snippet forgot.

Only modules on a fixed allow-list are ever imported by the engine (to look up which
names they define); all of them are side-effect free to import.
"""

from __future__ import annotations

import ast
import importlib
import re
from types import ModuleType

from bugfixer.fixing.builtin.errors import Hint
from bugfixer.fixing.builtin.model import Change, Note, change
from bugfixer.fixing.builtin.source import parents, undefined_names

MODULES = frozenset({
    "abc", "argparse", "array", "base64", "bisect", "calendar", "collections", "contextlib",
    "copy", "csv", "dataclasses", "datetime", "decimal", "enum", "fractions", "functools",
    "glob", "hashlib", "heapq", "html", "inspect", "io", "itertools", "json", "logging",
    "math", "numbers", "operator", "os", "pathlib", "pickle", "platform", "pprint", "queue",
    "random", "re", "secrets", "shutil", "statistics", "string", "struct", "subprocess",
    "sys", "tempfile", "textwrap", "time", "timeit", "traceback", "types", "typing",
    "unicodedata", "uuid", "warnings", "zlib",
})  # fmt: skip

_MEMBERS = {
    "collections": "defaultdict Counter deque namedtuple OrderedDict ChainMap",
    "datetime": "date timedelta timezone",
    "pathlib": "Path PurePath",
    "dataclasses": "dataclass field asdict",
    "typing": "List Dict Optional Any Tuple Set Union Callable Iterable Iterator Sequence"
    " Mapping TypeVar Generic Literal",
    "time": "sleep perf_counter",
    "random": "randint choice shuffle uniform randrange sample",
    "math": "sqrt pi floor ceil sin cos tan log log10 exp gcd factorial hypot isclose",
    "itertools": "permutations combinations product chain groupby accumulate zip_longest",
    "functools": "reduce partial lru_cache wraps cache total_ordering",
    "copy": "deepcopy",
    "statistics": "mean median stdev",
    "textwrap": "dedent",
    "string": "ascii_lowercase ascii_uppercase ascii_letters digits punctuation",
    "uuid": "uuid4",
    "decimal": "Decimal",
    "fractions": "Fraction",
    "heapq": "heappush heappop heapify",
    "bisect": "bisect_left bisect_right insort",
    "enum": "Enum auto",
    "abc": "ABC abstractmethod",
    "pprint": "pprint",
    "sys": "argv",
}
FROM_IMPORTS = {name: module for module, names in _MEMBERS.items() for name in names.split()}
# Names that are both a module and something inside it; how they are used decides.
_DUAL = ("datetime", "random", "time", "copy", "glob", "pprint")


def load(module: str) -> ModuleType | None:
    """Import an allow-listed standard-library module; anything else is refused."""
    if module not in MODULES:
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _uses(tree: ast.Module, name: str) -> list[str]:
    """How each occurrence of ``name`` is used: an attribute name, "call" or "value"."""
    parent = parents(tree)
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
            up = parent.get(node)
            if isinstance(up, ast.Attribute) and up.value is node:
                uses.append(up.attr)
            elif isinstance(up, ast.Call) and up.func is node:
                uses.append("call")
            else:
                uses.append("value")
    return uses


def import_line(tree: ast.Module, name: str) -> str | None:
    """The import statement that defines ``name`` the way the code uses it, if unambiguous."""
    uses = _uses(tree, name)
    if name in _DUAL:
        module = load(name)
        member = getattr(module, name, None)
        votes = set()
        for use in uses:
            if use == "call":
                votes.add("member")
            elif use != "value":
                in_module, in_member = hasattr(module, use), hasattr(member, use)
                if in_module != in_member:
                    votes.add("module" if in_module else "member")
        if len(votes) > 1:
            return None
        return f"from {name} import {name}" if votes == {"member"} else f"import {name}"
    if name in MODULES:
        attrs = [use for use in uses if use not in ("call", "value")]
        module = load(name)
        if not attrs or "call" in uses or not all(hasattr(module, a) for a in attrs):
            return None
        return f"import {name}"
    if name in FROM_IMPORTS and hasattr(load(FROM_IMPORTS[name]), name):
        return f"from {FROM_IMPORTS[name]} import {name}"
    return None


def _insert_at(tree: ast.Module, lines: list[str]) -> tuple[int, bool]:
    """Where new imports go: after a docstring, ``__future__`` and the existing imports."""
    body, pos, index, after_imports = tree.body, 0, 0, False
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        pos, index = body[0].end_lineno or 0, 1
    while index < len(body) and isinstance(body[index], ast.Import | ast.ImportFrom):
        pos, index, after_imports = body[index].end_lineno or pos, index + 1, True
    while pos == 0 and pos < len(lines) and re.match(r"#!|#.*coding[:=]", lines[pos]):
        pos += 1
    return pos, after_imports


def missing_import(text: str, tree: ast.Module, hint: Hint) -> Change | None:
    lines = text.split("\n")
    needed: dict[str, tuple[str, int]] = {}
    for name, lineno, _ in undefined_names(tree):
        if name not in needed:
            statement = import_line(tree, name)
            if statement:
                needed[name] = (statement, lineno)
    if not needed:
        return None
    modules = sorted({s for s, _ in needed.values() if s.startswith("import")})
    members: dict[str, list[str]] = {}
    for name, (statement, _) in sorted(needed.items(), key=lambda item: item[0].lower()):
        if statement.startswith("from"):
            members.setdefault(statement.split()[1], []).append(name)
    statements = modules + [
        f"from {module} import {', '.join(names)}" for module, names in sorted(members.items())
    ]
    pos, after_imports = _insert_at(tree, lines)
    block = list(statements)
    if not after_imports and pos < len(lines) and lines[pos].strip():
        block.append("")
    new_lines = lines[:pos] + block + lines[pos:]
    notes = []
    for name, (statement, lineno) in sorted(needed.items(), key=lambda item: item[1][1]):
        if statement.startswith("import"):
            why = f"`{name}` is a standard-library module that is used but never imported"
            notes.append(Note(lineno, f"{why}, so I added `{statement}` at the top."))
        else:
            module = statement.split()[1]
            merged = f"from {module} import {', '.join(members[module])}"
            why = f"`{name}` comes from the standard-library `{module}` module"
            notes.append(Note(lineno, f"{why}, so I imported it at the top: `{merged}`."))
    return change("\n".join(new_lines), "missing_import", *notes)
