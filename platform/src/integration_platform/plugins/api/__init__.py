"""The instance management API (JSON, `/integrations/api/v1`): what Progix's own backend calls.

The same lifecycle service as the CLI and the UI, behind Airflow's authentication and with the
caller's own Airflow permissions; long operations answer with an operation to poll.
"""
