"""Runtime rules by exception type, and the ordered, checked list of what to try.

Rules join the registry with ``@handles("IndexError")`` when their module is imported;
``candidates`` imports them all, asks the ones for the failure's exception type, and
drops every proposal that doesn't compile or uses a name the program didn't have.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from bugfixer.fixing.builtin.failure import Candidate, Failure, RunCtx
from bugfixer.fixing.builtin.source import compile_error, parse, undefined_set

log = logging.getLogger(__name__)
RuntimeRule = Callable[[RunCtx], Iterator[Candidate]]
_RULES: dict[str, list[RuntimeRule]] = {}
MAX_CANDIDATES = 24


def handles(*exc_types: str) -> Callable[[RuntimeRule], RuntimeRule]:
    def register(rule: RuntimeRule) -> RuntimeRule:
        for exc_type in exc_types:
            _RULES.setdefault(exc_type, []).append(rule)
        return rule

    return register


def _load_rules() -> None:
    from bugfixer.fixing.builtin import (  # noqa: F401 - importing registers the rules
        run_attrs,
        run_calls,
        run_flow,
        run_index,
        run_logic,
        run_none,
        run_types,
        run_values,
    )


def edit_size(old: str, new: str) -> int:
    """Characters removed plus characters added, outside the common prefix and suffix."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return (len(old) - prefix - suffix) + (len(new) - prefix - suffix)


def candidates(text: str, failure: Failure, test: str = "") -> list[Candidate]:
    """What to try for ``failure``, best first: by tier, then by the size of the edit.

    ``test`` is the user's test, which some rules read to see what the program must do.
    """
    _load_rules()
    tree = parse(text)
    before = undefined_set(text)
    if tree is None or before is None:
        return []
    ctx = RunCtx(text, tree, failure, test)
    found: list[Candidate] = []
    seen = {text}
    for rule in _RULES.get(failure.exc_type, []):
        try:
            proposals = list(rule(ctx))
        except Exception:
            # A rule that trips over unusual code has nothing to offer for it; the others
            # still do, and the user still gets an answer.
            log.warning("runtime rule %s failed on %s", rule.__name__, failure.shown, exc_info=True)
            continue
        for proposal in proposals:
            code = proposal.change.code
            if code in seen:
                continue
            seen.add(code)
            after = undefined_set(code)
            if compile_error(code) is not None or after is None or not after <= before:
                continue
            found.append(proposal)
    found.sort(key=lambda c: (c.tier, edit_size(text, c.change.code)))
    return found[:MAX_CANDIDATES]
