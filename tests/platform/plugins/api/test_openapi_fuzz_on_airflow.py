"""Schemathesis against the instance API served by the stack's real Airflow API server.

The plugin as Airflow loads it, Airflow's own authentication (an admin's bearer token from
`/auth/token`), the lifecycle service and the REST API behind it: no request may make it
answer 5xx. Reads go anywhere; every state-changing call (deploy, redeploy, pause, resume,
test, replay, remove) is pointed at a throwaway instance id that is never deployed, and a
deploy only validates (`validate_only=true`), so the run changes nothing other tests see.
"""

from __future__ import annotations

import secrets

import pytest
import schemathesis

from acme_erp_integration.definition import ACME_ERP
from tests.platform.plugins.api.fuzzing import no_server_errors
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
API = "/integrations/api/v1"
MAX_EXAMPLES = 8  # 12 operations: about a minute on a busy 2-core machine
THROWAWAY = f"fuzz-{secrets.token_hex(3)}"


def _aim_writes_at_the_throwaway(case: schemathesis.Case) -> None:
    if case.method.upper() == "GET":
        return
    if "instance_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "instance_id": THROWAWAY}
    if case.method.upper() == "PUT":
        case.query = {**(case.query or {}), "validate_only": "true"}


def _instance_files(stack: StackHandle) -> list[str]:
    return sorted(path.name for path in stack.stack.instances_dir.glob("*.yaml"))


def test_no_request_makes_the_real_api_server_fail(stack: StackHandle) -> None:
    running = stack.stack
    schema = schemathesis.openapi.from_url(f"{running.airflow_url}{API}/openapi.json")
    assert len(list(schema.get_all_operations())) >= 12
    before = _instance_files(stack)
    token = running.rest("admin").token()

    failures = no_server_errors(
        schema,
        max_examples=MAX_EXAMPLES,
        prepare=_aim_writes_at_the_throwaway,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )

    assert failures == []
    assert _instance_files(stack) == before  # nothing deployed, nothing removed
    for variable in ACME_ERP.connection_variables:
        assert running.rest("admin").get_connection(variable.connection.conn_id(THROWAWAY)) is None
