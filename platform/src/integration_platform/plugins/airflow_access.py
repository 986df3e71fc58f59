"""The lifecycle service, built for one UI request: acting as that user, through REST API v2.

The plugin forwards the caller's own Airflow JWT instead of using a stored service account,
so Airflow applies the caller's permissions to everything done on their behalf.

Where Airflow's REST API is comes from configuration only, never from a request: a `Host`
header is the client's to choose, and a URL derived from it would send the caller's token
(and task-log links) wherever the client pointed.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from airflow.configuration import conf

from integration_platform.integrations.instances import INSTANCES_DIR_ENV, resolve_instances_dir
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import AIRFLOW_URL_ENV, LifecycleSettings
from integration_platform.plugins.auth import Caller


class AirflowUrlMissing(RuntimeError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The Integrations plugin does not know where Airflow's REST API is ({reason}): "
            f"set {AIRFLOW_URL_ENV} or Airflow's [api] base_url (AIRFLOW__API__BASE_URL) "
            "for the API server, then restart it."
        )


def instances_dir() -> Path:
    """`$INTEGRATION_INSTANCES_DIR`, else `instances/` inside Airflow's DAGs folder, where
    the DAG factory reads them (the API server's working directory means nothing here)."""
    return resolve_instances_dir(Path(conf.get("core", "dags_folder")) / "instances")


def configured_airflow_url() -> str:
    """`$INTEGRATION_AIRFLOW_URL`, else Airflow's own `[api] base_url`; an absolute http(s) URL."""
    url = os.environ.get(AIRFLOW_URL_ENV) or conf.get("api", "base_url", fallback="") or ""
    parts = urlsplit(url.strip())
    if not url.strip():
        raise AirflowUrlMissing("neither is set")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AirflowUrlMissing(f"{url!r} is not an absolute http(s) URL")
    return url.strip().rstrip("/")


def service_for(caller: Caller, airflow_url: str) -> InstanceService:
    settings = LifecycleSettings.from_env(
        airflow_url=airflow_url,
        instances_dir=None if os.environ.get(INSTANCES_DIR_ENV) else instances_dir(),
    )
    client = AirflowClient(settings.airflow_url, caller.name, token=caller.token)
    return InstanceService(settings, client=client)
