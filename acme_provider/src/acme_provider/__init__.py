"""Apache Airflow provider for Acme ERP: the `acme_erp` connection type, hooks and operators.

Importing this package must stay cheap and free of Airflow imports: Airflow's
ProvidersManager imports `acme_provider.get_provider_info` during discovery.
"""

__version__ = "0.1.0"
