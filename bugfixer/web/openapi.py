"""The API's OpenAPI document names its API-key scheme, so /docs has an Authorize button.

Identity is read in ``deps.get_identity`` (a key when one is sent, the visitor cookie
otherwise), so the scheme is declared here, on the document, and marked optional.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

SCHEME = "ApiKey"


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("securitySchemes", {})[SCHEME] = {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "bfk_…",
                "description": "An API key from your account page (it starts with `bfk_`). "
                "Without one, calls use the free fixes of the `bf_visitor` cookie.",
            }
            for path, operations in schema.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation["security"] = [{SCHEME: []}, {}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
