"""Property: the platform accepts an instance id exactly when the relay accepts its routes.

"The platform accepts" is the lifecycle's own deploy validation (`plan_deploy`, which the CLI
and the UI both call before anything changes), not a helper beside it.
"""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from integration_contracts.ids import MAX_SEGMENT_LENGTH, SEGMENT_PATTERN, SEGMENT_RULE
from integration_platform.integrations import Flow, Integration, TriggerKind, naming
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.request import DeployRequest, plan_deploy
from webhook_relay.routes import InvalidRoute, Route

FLOW = "sync-customer-data"
INTEGRATION = Integration(
    slug="acme-erp",
    name="Grammar probe",
    description="One webhook flow and no config: only the instance id can be wrong.",
    flows=(Flow(FLOW, "Sync", "", TriggerKind.WEBHOOK, events=("customer.updated",)),),
)
REQUEST = DeployRequest(customer="Probe", source="property test")
candidates = st.one_of(
    st.from_regex(SEGMENT_PATTERN, fullmatch=True).filter(lambda s: len(s) <= MAX_SEGMENT_LENGTH),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-_/ \n.A", max_size=70),
    st.text(max_size=8),
)


def relay_accepts(instance_id: str) -> bool:
    try:
        route = Route.parse(f"acme-erp/{instance_id}/{FLOW}")
    except InvalidRoute:
        return False
    return route.instance == instance_id


def deploy_accepts(instance_id: str) -> bool:
    """Whether the lifecycle's deploy validation lets `instance_id` through."""
    try:
        plan_deploy(INTEGRATION, instance_id, REQUEST, is_redeploy=False, environ={})
    except InvalidRequest as error:
        (problem,) = error.errors  # the request is otherwise valid: only the id can fail
        assert problem.field == "instance"
        assert problem.reason.endswith(SEGMENT_RULE)  # the refusal names the rule
        return False
    return True


@given(candidates)
def test_deploy_and_relay_agree_on_every_instance_id(instance_id: str) -> None:
    assert deploy_accepts(instance_id) == relay_accepts(instance_id)


@given(candidates)
def test_platform_and_relay_agree_on_every_instance_id(instance_id: str) -> None:
    assert naming.is_valid_instance_id(instance_id) == relay_accepts(instance_id)


@given(candidates.filter(naming.is_valid_instance_id))
def test_an_accepted_id_round_trips_through_its_dag_id(instance_id: str) -> None:
    dag_id = naming.dag_id("acme-erp", instance_id, FLOW)
    assert naming.parse_dag_id("acme-erp", dag_id, [FLOW]) == (instance_id, FLOW)
    assert Route.parse(naming.route("acme-erp", instance_id, FLOW)).dag_id == dag_id
