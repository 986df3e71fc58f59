"""Which instances a caller may see: those whose DAGs Airflow's auth manager lets them read.

An instance's customer, settings and runs are as confidential as its DAGs, so an instance is
shown only to a caller whom the auth manager lets read every one of its DAGs, asked DAG by
DAG (`Caller.readable_dags`, the auth manager's `filter_authorized_dag_ids`). That is right for
any auth manager: SimpleAuthManager's roles read all DAGs or none, a FAB role may grant
`can_read` on `DAG:<dag_id>` for some DAGs only. Asking per DAG id also covers an instance
whose DAGs Airflow has not parsed yet. Hidden instances answer 404, as unknown ones do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from integration_platform.integrations.instances import Instance, InstanceFileError
from integration_platform.integrations.model import Integration
from integration_platform.integrations.naming import is_valid_instance_id
from integration_platform.lifecycle.errors import UnknownName
from integration_platform.plugins.auth import Caller, CallerDep
from integration_platform.plugins.deps import ServiceFactoryDep

HIDDEN_STATE = "hidden_instances"
"""`request.state` attribute: ids an error message must not list to this caller."""


def _dag_ids(integration: Integration, instance_id: str) -> set[str]:
    return {integration.dag_id(instance_id, flow.slug) for flow in integration.flows}


def visible_ids(integration: Integration, caller: Caller, instance_ids: Iterable[str]) -> set[str]:
    """The ids among `instance_ids` whose every DAG the caller may read (one auth call)."""
    wanted = {i: _dag_ids(integration, i) for i in instance_ids}
    asked = set().union(*wanted.values()) if wanted else set()
    readable = caller.readable_dags(asked) if asked else set()
    return {i for i, dag_ids in wanted.items() if dag_ids <= readable}


def visible_of(
    integration: Integration, caller: Caller, instances: list[Instance]
) -> list[Instance]:
    """`instances` less those the caller may not see, in their order."""
    visible = visible_ids(integration, caller, [i.id for i in instances])
    return [i for i in instances if i.id in visible]


def visible_broken(
    integration: Integration,
    caller: Caller,
    errors: list[InstanceFileError],
    *,
    sees_every_instance: bool,
) -> list[InstanceFileError]:
    """Broken instance files (`<instance id>.yaml`) the caller may see the errors of; one
    whose name is no instance id only if the caller sees every (valid) instance too."""
    named = [e.path.stem for e in errors if is_valid_instance_id(e.path.stem)]
    visible = visible_ids(integration, caller, named)
    unnamed_too = sees_every_instance and visible == set(named)
    return [
        e
        for e in errors
        if e.path.stem in visible or (unnamed_too and not is_valid_instance_id(e.path.stem))
    ]


def require_visible_instance(
    request: Request, caller: CallerDep, services: ServiceFactoryDep
) -> None:
    """Router dependency: a route's `{instance_id}` must be a valid id the caller may see.

    An id that is not deployed yet passes (a deploy creates it), and the "unknown instance"
    message then lists only the instances the caller may see; a deployed one the caller may
    not read answers exactly like an unknown one."""
    instance_id = request.path_params.get("instance_id")
    if instance_id is None:
        return
    if not is_valid_instance_id(instance_id):
        raise HTTPException(404, f"no instance {instance_id!r}: not a valid instance id")
    service = services()
    try:
        integration = service.integration
        if service.store.exists(instance_id) and instance_id in visible_ids(
            integration, caller, [instance_id]
        ):
            return
        known = [i.id for i in service.list_instances()]
        hidden = set(known) - visible_ids(integration, caller, known)
        if instance_id in hidden:  # the very answer an unknown id gets
            shown = [i for i in known if i not in hidden]
            raise HTTPException(404, str(UnknownName("instance", instance_id, shown)))
        setattr(request.state, HIDDEN_STATE, hidden)
    finally:
        service.close()


def unknown_name_message(request: Request, error: UnknownName) -> str:
    """The error's message, listing only the instances this request's caller may see."""
    hidden = getattr(request.state, HIDDEN_STATE, set())
    if error.kind != "instance" or not hidden:
        return str(error)
    return str(UnknownName(error.kind, error.name, [n for n in error.valid if n not in hidden]))


VisibleInstance = Depends(require_visible_instance)
VisibleInstanceDep = Annotated[None, VisibleInstance]
