"""The fix API's public shapes, separate from the tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from bugfixer.fixing.languages import ALIASES, LANGUAGES

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bugfixer.config import Settings

# What validate_input refuses, said in the schema (JSON Schema regexes, ECMA-262 flavour):
# no NUL anywhere, and code must hold something besides whitespace (Python's own
# idea of it, which str.strip uses).
_WHITESPACE = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000"
)
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = rf"^[^\u0000]*[^\u0000{_WHITESPACE}][^\u0000]*$"
LANGUAGE_NAMES = sorted({*LANGUAGES, *ALIASES})


class FixRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "def greet(name)\n    print('hi ' + name)\n",
                    "error": "SyntaxError: expected ':'",
                    "language": "python",
                }
            ]
        },
    )

    code: StrictStr = Field(
        description="The buggy code (required): not blank, no NUL bytes.",
        json_schema_extra={"minLength": 1, "pattern": NOT_BLANK},
    )
    error: StrictStr | None = Field(
        None,
        description="The error message or traceback; no NUL bytes.",
        json_schema_extra={"pattern": NO_NUL},
    )
    language: StrictStr | None = Field(
        None,
        description="Language (any case); detected when absent or empty.",
        json_schema_extra={"enum": ["", *LANGUAGE_NAMES]},
    )
    test: StrictStr | None = Field(
        None,
        description="Optional Python test code run after the fixed program, which must pass "
        "(e.g. `assert mid([3, 1, 2]) == 2`); no NUL bytes.",
        json_schema_extra={"pattern": NO_NUL},
    )


class Check(BaseModel):
    name: str
    ok: bool
    message: str
    skipped: bool = False


class Verification(BaseModel):
    ok: bool = Field(description="Every check that ran passed.")
    checks: list[Check]
    reproduced: bool | None = Field(
        None,
        description="Whether running the original program raised the error that was given "
        "(null when it was not run).",
    )


class UsagePublic(BaseModel):
    used: int
    limit: int | None = Field(description="Free fixes allowed; null when the plan is unlimited.")
    remaining: int | None
    plan: str


class FixResult(BaseModel):
    id: str
    status: Literal["fixed", "no_fix"] = Field(
        description="no_fix when no verified fix could be produced; such attempts are free."
    )
    explanation: str
    fixed_code: str | None
    diff: str
    language: str
    verification: Verification
    usage: UsagePublic
    url: str = Field(description="Where the saved fix can be seen again.")
    provider: str
    model: str


class ErrorResponse(BaseModel):
    error: str
    message: str


def document_limits(app: FastAPI, settings: Settings) -> None:
    """Put this instance's input limits (they are settings) into its OpenAPI schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            fields = schema["components"]["schemas"]["FixRequest"]["properties"]
            fields["code"]["maxLength"] = settings.max_code_chars
            for name, limit in (
                ("error", settings.max_error_chars),
                ("test", settings.max_test_chars),
            ):
                for option in fields[name]["anyOf"]:
                    if option.get("type") == "string":
                        option["maxLength"] = limit
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
