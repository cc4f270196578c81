"""The API keeps the promises of its OpenAPI schema under generated input (schemathesis).

Bounded and repeatable: a few dozen derandomized examples per operation and mode
(schema-valid and schema-violating requests), every built-in check (as `--checks all`),
against the app through its ASGI interface with the offline fixer (the sandbox off: the
contract is under test here, not the verification).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from bugfixer.main import create_app
from tests.conftest import make_settings

EXAMPLES = 15
# An input over its maxLength is refused with 413 input_too_large, which names the limit.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]
"""


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_every_operation_answers_as_the_schema_says(tmp_path, mode):  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(
            tmp_path,
            free_fixes=1000,
            sandbox="off",
            rate_limit_fix="100000/minute",
            rate_limit_fix_ip="100000/minute",
        )
    )
    config = SchemathesisConfig.from_str(CONFIG)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the schema lists no operations"
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):  # type: ignore[no-untyped-def]
            case.call_and_validate()

        check()
