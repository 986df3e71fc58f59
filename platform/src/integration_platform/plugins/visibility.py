"""Which instances a caller may see: those whose DAGs Airflow lets them read.

An instance's customer, settings and runs are as confidential as its DAGs. A caller whom the
auth manager lets read every DAG sees every instance; anyone else is asked about through
Airflow itself, with their own token: the DAGs it lists to them (by the integration's tag)
name the instances they may see. Hidden instances answer 404, as unknown ones do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from integration_platform.integrations.instances import Instance
from integration_platform.integrations.model import Integration
from integration_platform.integrations.naming import is_valid_instance_id, parse_dag_id
from integration_platform.lifecycle.airflow_models import Dag
from integration_platform.lifecycle.service import InstanceService
from integration_platform.plugins.auth import Caller, CallerDep
from integration_platform.plugins.deps import ServiceFactoryDep


def readable_instances(service: InstanceService, caller: Caller) -> set[str] | None:
    """The ids of the instances `caller` may see; None means all of them."""
    if caller.can_read_all_dags:
        return None
    integration: Integration = service.integration
    slugs = [flow.slug for flow in integration.flows]
    visible = set()
    for dag in service.airflow.list_dags(tags=[f"integration:{integration.slug}"]):
        parsed = parse_dag_id(integration.slug, dag.dag_id, slugs)
        if parsed is not None:
            visible.add(parsed[0])
    return visible


def visible_of(
    integration: Integration, caller: Caller, instances: list[Instance], dags: list[Dag]
) -> list[Instance]:
    """`instances` less those none of whose DAGs are among `dags` (as listed to the caller)."""
    if caller.can_read_all_dags:
        return instances
    slugs = [flow.slug for flow in integration.flows]
    readable = {p[0] for d in dags if (p := parse_dag_id(integration.slug, d.dag_id, slugs))}
    return [i for i in instances if i.id in readable]


def may_see(service: InstanceService, caller: Caller, instance_id: str) -> bool:
    visible = readable_instances(service, caller)
    return visible is None or instance_id in visible


def require_visible_instance(
    request: Request, caller: CallerDep, services: ServiceFactoryDep
) -> None:
    """Router dependency: a route's `{instance_id}` must be a valid id the caller may see.

    An id that is not deployed yet passes (a deploy creates it); a deployed one the caller
    may not read answers exactly like an unknown one."""
    instance_id = request.path_params.get("instance_id")
    if instance_id is None:
        return
    if not is_valid_instance_id(instance_id):
        raise HTTPException(404, f"no instance {instance_id!r}: not a valid instance id")
    if caller.can_read_all_dags:
        return
    service = services()
    try:
        if service.store.exists(instance_id) and not may_see(service, caller, instance_id):
            raise HTTPException(404, f"no instance {instance_id!r}")
    finally:
        service.close()


VisibleInstance = Depends(require_visible_instance)
VisibleInstanceDep = Annotated[None, VisibleInstance]
