"""Who is calling, and what Airflow lets them do.

Authentication is Airflow's own (`GetUserDep`: a bearer token or the UI's `_token` cookie);
authorization asks Airflow's auth manager, so roles mean here what they mean everywhere else
in Airflow. The caller's token is kept so the REST API calls made on their behalf carry
their own permissions.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, HTTPException, Request, status


@dataclass(frozen=True)
class Caller:
    """The authenticated Airflow user of one request, with their token and permissions."""

    name: str
    token: str
    can_trigger: bool  # trigger DAG runs, pause/unpause: needed for every action here
    can_manage_connections: bool  # deploy and remove also write the instance's connections
    can_read_connections: bool = False  # shows connection hosts on the instance page
    readable_dags: Callable[[Set[str]], Set[str]] = field(default=lambda _ids: set(), compare=False)
    """Which of the given DAG ids the auth manager lets the caller read, asked DAG by DAG
    (FAB roles may grant `can_read` on `DAG:<dag_id>` alone); see `visibility`. The default
    reads none: a Caller made without asking Airflow sees no instance."""

    @property
    def can_deploy(self) -> bool:
        return self.can_trigger and self.can_manage_connections


def request_token(request: Request) -> str | None:
    """The JWT this request was authenticated with: an explicit bearer token wins over the cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def _caller_for(user: BaseUser, token: str) -> Caller:
    manager = get_auth_manager()

    def readable_dags(dag_ids: Set[str]) -> Set[str]:
        # Not `is_authorized_dag(method="GET")` without details: for FAB that only means
        # "may list DAGs", which one per-DAG permission already grants.
        return manager.filter_authorized_dag_ids(dag_ids=set(dag_ids), user=user, method="GET")

    return Caller(
        name=user.get_name(),
        token=token,
        can_trigger=manager.is_authorized_dag(
            method="POST", access_entity=DagAccessEntity.RUN, user=user
        ),
        can_manage_connections=manager.is_authorized_connection(method="POST", user=user),
        can_read_connections=manager.is_authorized_connection(method="GET", user=user),
        readable_dags=readable_dags,
    )


def get_caller(request: Request, user: GetUserDep) -> Caller:
    token = request_token(request)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    return _caller_for(user, token)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_trigger(caller: CallerDep) -> Caller:
    """Every mutating action: Airflow must let the caller trigger DAG runs."""
    if not caller.can_trigger:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"User {caller.name!r} may not trigger DAG runs, which this action needs; "
            "ask an Airflow admin for the 'user' role or higher.",
        )
    return caller


def require_deploy(caller: CallerDep) -> Caller:
    """Deploy and remove also create or delete the instance's Airflow connections."""
    require_trigger(caller)
    if not caller.can_manage_connections:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"User {caller.name!r} may not manage Airflow connections, which deploying and "
            "removing an instance need; ask an Airflow admin for the 'op' role or higher.",
        )
    return caller


TriggerCallerDep = Annotated[Caller, Depends(require_trigger)]
DeployCallerDep = Annotated[Caller, Depends(require_deploy)]
