"""The README documents every setting, docs/ every handled webhook event (datasette's test_docs)."""

import re
from pathlib import Path

from pydantic import AliasChoices

from bugfixer.billing.webhooks import HANDLERS
from bugfixer.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = "\n".join(path.read_text() for path in sorted((ROOT / "docs").glob("*.md")))


def names_of(field_name: str) -> list[str]:
    alias = Settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(a) for a in alias.choices]
    return [f"BUGFIXER_{field_name.upper()}"]


def test_every_setting_is_in_the_readme():
    missing = [
        names_of(name)[0]
        for name in Settings.model_fields
        if not any(f"`{n}`" in README for n in names_of(name))
    ]
    assert missing == []


def test_every_handled_webhook_event_is_in_the_readme():
    missing = [event for event in HANDLERS if f"`{event}`" not in DOCS]
    assert missing == []


def test_readme_names_the_two_commands():
    assert "make run" in README and "make test" in README


def test_readme_links_only_to_files_that_exist():
    targets = re.findall(r"\]\((docs/[^)#]+)", README)
    assert targets and all((ROOT / target).is_file() for target in targets)
