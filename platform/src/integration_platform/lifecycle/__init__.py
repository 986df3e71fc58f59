"""Instance lifecycle: deploy, redeploy, pause, test, replay and remove integration instances.

`service.InstanceService` is the Python API (used by the `integrations` CLI and the UI plugin);
it talks to Airflow only through the REST API v2 (`airflow_api.AirflowClient`).
"""
