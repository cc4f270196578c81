"""Code Bug Fixer: paste buggy code and its error, get an explanation and a verified fix."""

__version__ = "0.1.0"
