"""The lifecycle service, built for one UI request: acting as that user, through REST API v2.

The plugin forwards the caller's own Airflow JWT instead of using a stored service account,
so Airflow applies the caller's permissions to everything done on their behalf.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from airflow.configuration import conf
from fastapi import Request

from acme_provider.integrations.instances import INSTANCES_DIR_ENV, resolve_instances_dir
from acme_provider.lifecycle.airflow_api import AirflowClient
from acme_provider.lifecycle.errors import AirflowUnavailable
from acme_provider.lifecycle.service import InstanceService
from acme_provider.lifecycle.settings import AIRFLOW_URL_ENV, LifecycleSettings
from acme_provider.plugins.auth import Caller
from acme_provider.plugins.urls import api_base_url


class SessionExpired(AirflowUnavailable):
    def __init__(self) -> None:
        super().__init__("Your Airflow session has expired; reload the page and log in again.")


class UserTokenClient(AirflowClient):
    """`AirflowClient` authenticated with a UI user's forwarded JWT rather than a password.

    The token is used as is; when Airflow rejects it (expired), there is no password to log in
    again with, so the call fails with `SessionExpired`.
    """

    def __init__(
        self, base_url: str, caller: Caller, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(base_url, caller.name, "", transport=transport)
        self._forwarded: str | None = caller.token

    def _login(self) -> str:
        token, self._forwarded = self._forwarded, None
        if token is None:
            raise SessionExpired()
        return token


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
    return InstanceService(settings, client=UserTokenClient(settings.airflow_url, caller))
