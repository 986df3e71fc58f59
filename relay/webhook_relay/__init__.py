"""Webhook relay: verify signed webhooks, store them durably, acknowledge fast, and trigger
Airflow DAG runs in micro-batches."""

__version__ = "0.1.0"
