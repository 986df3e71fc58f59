"""Property: the platform accepts an instance id exactly when the relay accepts its routes."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from integration_contracts.ids import MAX_SEGMENT_LENGTH, SEGMENT_PATTERN
from integration_platform.integrations import naming
from webhook_relay.routes import InvalidRoute, Route

FLOW = "sync-customer-data"
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


@given(candidates)
def test_platform_and_relay_agree_on_every_instance_id(instance_id: str) -> None:
    assert naming.is_valid_instance_id(instance_id) == relay_accepts(instance_id)


@given(candidates.filter(naming.is_valid_instance_id))
def test_an_accepted_id_round_trips_through_its_dag_id(instance_id: str) -> None:
    dag_id = naming.dag_id("acme-erp", instance_id, FLOW)
    assert naming.parse_dag_id("acme-erp", dag_id, [FLOW]) == (instance_id, FLOW)
    assert Route.parse(naming.route("acme-erp", instance_id, FLOW)).dag_id == dag_id
