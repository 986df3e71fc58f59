"""The lifecycle service, built for one UI request: acting as that user, through REST API v2.

The plugin forwards the caller's own Airflow JWT instead of using a stored service account,
so Airflow applies the caller's permissions to everything done on their behalf.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.configuration import conf
from fastapi import Request

from integration_platform.integrations.instances import INSTANCES_DIR_ENV, resolve_instances_dir
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import AIRFLOW_URL_ENV, LifecycleSettings
from integration_platform.plugins.auth import Caller
from integration_platform.plugins.urls import api_base_url


def instances_dir() -> Path:
    """`$INTEGRATION_INSTANCES_DIR`, else `instances/` inside Airflow's DAGs folder, where
    the DAG factory reads them (the API server's working directory means nothing here)."""
    return resolve_instances_dir(Path(conf.get("core", "dags_folder")) / "instances")


def airflow_url(request: Request) -> str:
    """How this process reaches the REST API: the configured URL, else the server it serves."""
    return os.environ.get(AIRFLOW_URL_ENV) or api_base_url(request)


def service_for(request: Request, caller: Caller) -> InstanceService:
    settings = LifecycleSettings.from_env(
        airflow_url=airflow_url(request),
        instances_dir=None if os.environ.get(INSTANCES_DIR_ENV) else instances_dir(),
    )
    client = AirflowClient(settings.airflow_url, caller.name, token=caller.token)
    return InstanceService(settings, client=client)
