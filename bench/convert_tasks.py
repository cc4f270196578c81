"""Convert a public fix benchmark into a ``bugfixer eval`` task file.

Reads HumanEvalFix rows (the HumanEvalPack format: ``task_id``, ``prompt``,
``buggy_solution``, ``test``, ``entry_point``, optionally ``declaration`` and
``example_test``) as JSON Lines, and writes one task per Python row: the code is the
prompt (signature and docstring) with the buggy body, and the judge is the benchmark's
own ``check`` function, called on the entry point. Rows in other languages are skipped,
because the judge runs Python. Export the data set to JSON Lines first, e.g. with the
``datasets`` library's ``to_json``; nothing is downloaded here.

    .venv/bin/python bench/convert_tasks.py humanevalfix.jsonl -o bench/tasks/humanevalfix.jsonl
    bugfixer eval bench/tasks/humanevalfix.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

REQUIRED = ("task_id", "buggy_solution", "test", "entry_point")
_OTHER_LANGUAGES = frozenset({"javascript", "js", "java", "go", "cpp", "c++", "rust"})


class ConvertError(Exception):
    pass


def convert(rows: Iterable[str], *, docstrings: bool = True) -> Iterator[dict[str, Any]]:
    """Tasks from HumanEvalPack lines; ``docstrings=False`` gives the bare declaration."""
    for number, line in enumerate(rows, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ConvertError(f"line {number}: not valid JSON ({exc})") from None
        missing = [name for name in REQUIRED if not isinstance(row.get(name), str)]
        if missing:
            raise ConvertError(f"line {number}: missing or not text: {', '.join(missing)}")
        if not _is_python(row):
            continue
        head = row.get("prompt") if docstrings else row.get("declaration")
        if not isinstance(head, str):
            head = row.get("prompt") or row.get("declaration") or ""
        entry = row["entry_point"]
        test = row["test"].rstrip("\n") + "\n"
        if not re.search(rf"^check\(\s*{re.escape(entry)}\s*\)", test, re.M):
            test += f"\ncheck({entry})\n"
        yield {
            "id": row["task_id"],
            "code": head + row["buggy_solution"],
            "test": test,
            "language": "python",
        }


def _is_python(row: dict[str, Any]) -> bool:
    """HumanEvalPack names the language in the id ("Python/0", "Go/0"); HumanEval does not."""
    language = row.get("language") or row["task_id"].partition("/")[0]
    return str(language).strip().lower() not in _OTHER_LANGUAGES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=argparse.FileType("r", encoding="utf-8"))
    parser.add_argument(
        "-o",
        "--out",
        type=argparse.FileType("w", encoding="utf-8"),
        default=sys.stdout,
        help="The task file to write (default: standard output).",
    )
    parser.add_argument(
        "--no-docstrings",
        action="store_true",
        help="Give the fixer the bare declaration, not the prompt with its docstring.",
    )
    args = parser.parse_args(argv)
    count = 0
    try:
        for task in convert(args.source, docstrings=not args.no_docstrings):
            args.out.write(json.dumps(task) + "\n")
            count += 1
    except ConvertError as exc:
        print(f"error: {args.source.name}: {exc}", file=sys.stderr)
        return 2
    print(f"{count} tasks written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
