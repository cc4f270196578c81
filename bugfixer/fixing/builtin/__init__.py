"""The offline fixer: deterministic rules for the Python mistakes people make most.

It needs no network and no API key, so the product works out of the box; an LLM
provider can be configured for everything these rules don't cover.
"""

from bugfixer.fixing.builtin.engine import fix_python
from bugfixer.fixing.builtin.model import BuiltinFix

__all__ = ["BuiltinFix", "fix_python"]
