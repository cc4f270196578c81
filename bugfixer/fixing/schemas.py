"""The fix API's public shapes, separate from the tables."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr


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

    code: StrictStr = Field(description="The buggy code (required).")
    error: StrictStr | None = Field(None, description="The error message or traceback.")
    language: StrictStr | None = Field(None, description="Language; detected when absent.")
    test: StrictStr | None = Field(
        None,
        description="Optional Python test code run after the fixed program, which must pass "
        "(e.g. `assert mid([3, 1, 2]) == 2`).",
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
