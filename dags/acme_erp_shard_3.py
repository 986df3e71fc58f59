"""Airflow DAGs of the Acme ERP instances in this file's shard (shard number = file name)."""

from acme_erp_integration.dags import FACTORY

FACTORY.populate_shard(__file__, globals())
