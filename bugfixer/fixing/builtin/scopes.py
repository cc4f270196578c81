"""Which names are visible where, for suggesting the name a typo was meant to be."""

from __future__ import annotations

import ast
import builtins
import difflib
import unicodedata

FUNCTION_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_CONSTANTS = {"True", "False", "None"}
_CONSTANT_TYPOS = {"true": "True", "false": "False", "null": "None", "none": "None", "nil": "None"}


def bindings(scope: ast.AST) -> set[str]:
    """Names bound directly in ``scope`` (not in nested functions or classes)."""
    names: set[str] = set()
    if isinstance(scope, FUNCTION_SCOPES):
        args = scope.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                names.add(arg.arg)
        todo: list[ast.AST] = list(scope.body) if isinstance(scope.body, list) else [scope.body]
    elif isinstance(scope, COMPREHENSIONS):
        todo = [gen.target for gen in scope.generators]
    else:
        todo = list(getattr(scope, "body", []))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, *COMPREHENSIONS)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
        todo.extend(ast.iter_child_nodes(node))
    return names


def visible_names(tree: ast.Module, parent: dict[ast.AST, ast.AST], node: ast.AST) -> set[str]:
    """User-defined names visible at ``node``: its enclosing functions, then the module."""
    names = set(bindings(tree))
    up = parent.get(node)
    innermost = True
    while up is not None:
        if isinstance(up, FUNCTION_SCOPES + COMPREHENSIONS) or (
            innermost and isinstance(up, ast.ClassDef)
        ):
            names |= bindings(up)
            innermost = False
        up = parent.get(up)
    return names


def _plain(name: str) -> str:
    """``café`` -> ``cafe``: a missing accent is a typo, not a different word."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def plausible(name: str, candidate: str, user: set[str]) -> bool:
    """``inputs`` or ``lists`` is far likelier a variable defined outside the snippet
    than a typo of a builtin."""
    return candidate in user or name not in (candidate + "s", candidate + "es")


def closest(name: str, user: set[str], others: frozenset[str] | set[str]) -> str | None:
    """The one name ``name`` is most likely a typo of, or None when unsure or ambiguous."""
    if name.lower() in _CONSTANT_TYPOS:
        return _CONSTANT_TYPOS[name.lower()]
    pool = (user | set(others)) - {name}
    same_case = sorted(n for n in pool if n.lower() == name.lower())
    if len(same_case) == 1:
        return same_case[0]
    if len(name) < 3:
        return None
    # Swapped letters score low with difflib but are the commonest typo; names the
    # user defined nearby are likelier intentions than builtins.
    scores = {n: 0.8 for n in pool - _CONSTANTS if len(name) >= 3 and one_edit(name, n)}
    scores |= {n: 0.9 for n in pool if len(n) == len(name) and sorted(n) == sorted(name)}
    scores |= {n: 0.95 for n in pool if _plain(n) == _plain(name)}
    for n in difflib.get_close_matches(name, sorted(pool - _CONSTANTS), n=5, cutoff=0.8):
        scores[n] = max(scores.get(n, 0.0), difflib.SequenceMatcher(None, name, n).ratio())
    scores = {n: v for n, v in scores.items() if plausible(name, n, user)}
    bonus = {n: 0.05 if n in user else 0.0 for n in scores}
    scored = sorted(
        ((round(score + bonus[n], 6), n in user, n) for n, score in scores.items()),
        reverse=True,
    )
    if not scored:
        return None
    if len(scored) > 1 and scored[1][:2] == scored[0][:2]:
        return None
    return scored[0][2]


def one_edit(a: str, b: str) -> bool:
    """Exactly one insertion, deletion, substitution or swap of two letters apart: the
    swapped letters are neighbours, or anywhere in a word of five letters or more
    (``ramdon`` for ``random``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i, j = diff if len(diff) == 2 else (0, 0)
        near = j == i + 1 or len(a) >= 5
        return len(diff) == 2 and near and a[i] == b[j] and a[j] == b[i]
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
