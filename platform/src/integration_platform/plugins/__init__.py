"""The *Integrations* view inside Airflow's UI: an Airflow plugin serving a small FastAPI app.

`plugin.IntegrationsPlugin` mounts `app.create_app()` at `/integrations` on the API server
and adds an "Integrations" entry to Airflow's navigation. Pages are rendered on the server
(Jinja2, autoescaped) and every action goes through the lifecycle service, the same code the
`integrations` CLI runs.
"""
