"""Users whose FAB role lets them read some DAGs only, made through FAB's own REST API.

The stack's Airflow runs the FAB auth manager (`StackOptions(airflow_auth_manager="fab")`),
so an admin can create roles and users at `/auth/fab/v1`, as an operator would. A DAG's own
resource (`DAG:<dag_id>`) exists once the DAG processor has parsed it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import httpx
from airflow.providers.fab.www.security import permissions

from integration_platform.lifecycle.airflow_api import AirflowClient
from sandbox.stack import Stack

FAB_API = "/auth/fab/v1"


def _read(resource: str) -> dict:
    return {"action": {"name": permissions.ACTION_CAN_READ}, "resource": {"name": resource}}


def scoped_viewer_permissions(viewer_role: dict, dag_ids: Iterable[str]) -> list[dict]:
    """FAB's Viewer without `can_read` on every DAG, plus `can_read` on each of `dag_ids`, and
    on Plugins (Airflow's UI lists plugin views, the Integrations link among them, from there)."""
    everywhere = _read(permissions.RESOURCE_DAG)
    kept = [grant for grant in viewer_role["actions"] if grant != everywhere]
    per_dag = [_read(permissions.resource_name(d, permissions.RESOURCE_DAG)) for d in dag_ids]
    return [*kept, *per_dag, _read(permissions.RESOURCE_PLUGIN)]


def create_scoped_viewer(stack: Stack, username: str, dag_ids: Iterable[str]) -> str:
    """A user (and a role of the same name) who may read exactly `dag_ids`; its password."""
    password = secrets.token_urlsafe(12)
    token = stack.rest("admin").token()
    with httpx.Client(
        base_url=stack.airflow_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as admin:
        viewer = admin.get(f"{FAB_API}/roles/Viewer")
        viewer.raise_for_status()
        role = {"name": username, "actions": scoped_viewer_permissions(viewer.json(), dag_ids)}
        admin.post(f"{FAB_API}/roles", json=role).raise_for_status()
        user = {
            "username": username,
            "email": f"{username}@example.invalid",
            "first_name": username,
            "last_name": "(scoped viewer)",
            "roles": [{"name": username}],
            "password": password,
        }
        admin.post(f"{FAB_API}/users", json=user).raise_for_status()
    return password


def token_of(stack: Stack, username: str, password: str) -> str:
    """The user's JWT from `/auth/token`, as any API caller gets one."""
    with AirflowClient(stack.airflow_url, username, password) as client:
        return client.token()
