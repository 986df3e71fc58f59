"""Whether the installed distribution already registers the plugin through its entry point.

Airflow loads the plugins folder *and* the `airflow.plugins` entry points; a plugin seen
twice is skipped with an "already registered" entry in Airflow's plugin import errors. The
`plugins/` shim asks this first and only defines the plugin when no entry point does.
"""

from __future__ import annotations

from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "airflow.plugins"
PLUGIN_OBJECT = "integration_platform.plugins.plugin:IntegrationsPlugin"


def registered_by_entry_point() -> bool:
    return any(ep.value == PLUGIN_OBJECT for ep in entry_points(group=ENTRY_POINT_GROUP))
