"""The integration platform on Apache Airflow: what an integration is, the DAG factory that
turns its deployed instances into DAGs, the instance lifecycle (service and CLI) and the
Integrations UI plugin. Vendor-neutral: integrations register through `registry`.
"""

__version__ = "0.1.0"
