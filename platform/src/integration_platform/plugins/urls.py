"""Where things live: this app's mount path and links into Airflow's own UI."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request

MOUNT_PATH = "/integrations"


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def mount_base(request: Request) -> str:
    """This app's URL prefix (`/integrations`, or deeper behind an Airflow base_url)."""
    return request.scope.get("root_path", "").rstrip("/")


def airflow_base(request: Request) -> str:
    """The Airflow UI's URL prefix: this app's prefix without its own mount path."""
    base = mount_base(request)
    return base[: -len(MOUNT_PATH)] if base.endswith(MOUNT_PATH) else ""


def api_base_url(request: Request) -> str:
    """Airflow's REST API as seen from this process: the server the request reached."""
    return f"{request.url.scheme}://{request.url.netloc}{airflow_base(request)}"


class AirflowLinks:
    """Links into Airflow's UI pages (relative to its base, so they work behind a proxy)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def dag(self, dag_id: str) -> str:
        return f"{self.base}/dags/{_seg(dag_id)}"

    def run(self, dag_id: str, run_id: str) -> str:
        return f"{self.dag(dag_id)}/runs/{_seg(run_id)}"

    def task(self, dag_id: str, run_id: str, task_id: str) -> str:
        return f"{self.run(dag_id, run_id)}/tasks/{_seg(task_id)}"

    def connection_list(self) -> str:
        return f"{self.base}/connections"
