"""Concurrency settings: the definition's per-flow defaults, an instance's overrides, FIFO, and
the per-instance pool every task uses."""

from __future__ import annotations

import pytest

from acme_erp_integration.dags import FACTORY
from acme_erp_integration.definition import (
    ACME_ERP,
    INITIALIZATION,
    SYNC_CUSTOMERS,
    SYNC_INVENTORY,
    TEARDOWN,
)
from integration_platform.integrations.config import ConfigError, validate_config
from integration_platform.integrations.instances import Instance


def _dags(**config) -> dict:
    values = validate_config(ACME_ERP, {"progix_tenant": "t", **config})
    instance = Instance(
        id="shop-7",
        integration=ACME_ERP.slug,
        customer="Shop Seven",
        generation=1,
        config=values,
        connections={"acme_connection": "acme_erp__shop-7", "progix_connection": "progix__shop-7"},
    )
    return {flow.slug: FACTORY.build_dag(instance, flow) for flow in ACME_ERP.flows}


def test_the_definitions_defaults_apply_and_deploy_and_remove_stay_serial() -> None:
    dags = _dags()
    assert dags[SYNC_CUSTOMERS].max_active_runs == 4
    assert dags[SYNC_INVENTORY].max_active_runs == 4
    assert dags[INITIALIZATION].max_active_runs == 1
    assert dags[TEARDOWN].max_active_runs == 1
    assert all(task.pool == "default_pool" for dag in dags.values() for task in dag.tasks)


def test_an_instance_overrides_runs_and_fifo_per_flow() -> None:
    dags = _dags(max_active_runs__sync_customer_data=10, fifo__sync_inventory_data=True)
    assert dags[SYNC_CUSTOMERS].max_active_runs == 10
    assert dags[SYNC_INVENTORY].max_active_runs == 1


def test_a_pool_caps_every_task_of_the_instance() -> None:
    dags = _dags(pool_slots=2)
    pools = {task.pool for dag in dags.values() for task in dag.tasks}
    assert pools == {"integration__shop-7"}


def test_limits_are_typed_config() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(ACME_ERP, {"progix_tenant": "t", "pool_slots": "many"})
    assert caught.value.errors[0].field.startswith("config.pool_slots")
