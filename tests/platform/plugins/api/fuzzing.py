"""Bounded schemathesis runs, one hypothesis run per operation, every failure collected.

Schemathesis' pytest plugin does not run on pytest 9 yet, so each operation of the schema gets
its own `@given` here; `prepare` may rewrite a generated case before it is sent (the stack's
run points state-changing calls at a throwaway instance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


def _unchanged(case: schemathesis.Case) -> None:
    return None


def no_server_errors(
    schema: Any,
    *,
    max_examples: int,
    prepare: Callable[[schemathesis.Case], None] = _unchanged,
    **call: Any,
) -> list[str]:
    """`operation: error` for each operation some generated request made answer 5xx."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            prepare(case)
            case.call_and_validate(checks=[not_a_server_error], **call)

        try:
            check()
        except Exception as error:  # collect all, so one run names every failing operation
            failures.append(f"{operation.label}: {error}")
    return failures
