"""Airflow DAGs of the Acme ERP instances in this file's shard (shard number = file name)."""

from acme_provider.acme_erp.dags import FACTORY

FACTORY.populate_shard(__file__, globals())
