"""The README documents every setting (datasette's test_docs idea)."""

from pathlib import Path

from bugfixer.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_readme():
    missing = [
        f"BUGFIXER_{name.upper()}"
        for name in Settings.model_fields
        if f"`BUGFIXER_{name.upper()}`" not in README
    ]
    assert missing == []


def test_readme_names_the_two_commands():
    assert "make run" in README and "make test" in README
