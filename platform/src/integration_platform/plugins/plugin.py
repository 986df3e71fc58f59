"""The Airflow plugin: mounts the Integrations app and adds it to Airflow's navigation.

Registered through the `airflow.plugins` entry point of this distribution; `plugins/` holds a
shim for deployments that only mount a plugins folder. Airflow loads plugins once per
process: restart the API server after changing this package.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from integration_platform.plugins.app import create_app
from integration_platform.plugins.urls import MOUNT_PATH

PLUGIN_NAME = "integration_platform"


class IntegrationsPlugin(AirflowPlugin):
    name = PLUGIN_NAME
    fastapi_apps = [{"app": create_app(), "url_prefix": MOUNT_PATH, "name": "Integrations"}]
    external_views = [
        {
            # With a url_route, Airflow shows the page inside its own layout (an iframe at
            # /plugin/integrations) instead of leaving the UI.
            "name": "Integrations",
            "href": f"{MOUNT_PATH}/",
            "destination": "nav",
            "url_route": "integrations",
            "icon": f"{MOUNT_PATH}/static/icon.svg",
            "icon_dark_mode": f"{MOUNT_PATH}/static/icon-dark.svg",
        }
    ]
