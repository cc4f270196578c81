"""Errors a user can be shown. Each carries its HTTP status and a stable machine code."""

from __future__ import annotations


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = {}
        self.extra: dict[str, object] = {}


class InvalidInput(AppError):
    status = 422
    code = "invalid_input"


class InputTooLarge(AppError):
    status = 413
    code = "input_too_large"


class QuotaExhaustedError(AppError):
    status = 402
    code = "quota_exhausted"


class ProviderUnavailable(AppError):
    status = 503
    code = "provider_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers["Retry-After"] = "10"


class NotFound(AppError):
    status = 404
    code = "not_found"
