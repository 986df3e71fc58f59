"""Load the Integrations UI plugin from Airflow's plugins folder.

Only needed where the `airflow-integration-platform` distribution's `airflow.plugins` entry
point is absent; when it is present this file defines nothing, so the plugin is not
registered twice.
"""

from integration_platform.plugins.registration import registered_by_entry_point

if not registered_by_entry_point():
    from integration_platform.plugins.plugin import IntegrationsPlugin

    __all__ = ["IntegrationsPlugin"]
