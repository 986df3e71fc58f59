"""Callers and a deployed-looking instance for the plugin's unit tests."""

from __future__ import annotations

from acme_erp_integration.definition import ACME_ERP, INITIALIZATION, SYNC_CUSTOMERS
from integration_platform.integrations.instances import Instance, InstanceState, InstanceStore
from integration_platform.plugins.auth import Caller
from tests.platform.plugins.fake_airflow import FakeAirflow

ADMIN = Caller(
    name="admin",
    token="t",
    can_trigger=True,
    can_manage_connections=True,
    can_read_connections=True,
    readable_dags=set,  # every DAG asked about, as for Airflow's admin, user and viewer roles
)
USER = Caller(
    name="relay", token="t", can_trigger=True, can_manage_connections=False, readable_dags=set
)
VIEWER = Caller(
    name="viewer", token="t", can_trigger=False, can_manage_connections=False, readable_dags=set
)
HTML = {"Accept": "text/html"}


def deploy_fixture_instance(
    store: InstanceStore,
    fake: FakeAirflow,
    instance_id: str = "shop-1",
    customer: str = "Shop One",
    state: InstanceState = InstanceState.ACTIVE,
) -> Instance:
    """An instance as a successful deploy leaves it: file, DAGs, connections, runs."""
    instance = Instance(
        id=instance_id,
        integration=ACME_ERP.slug,
        customer=customer,
        generation=2,
        state=state,
        config={"progix_tenant": "tenant-1", "warehouses": ["main"], "backfill_on_deploy": False},
        connections={
            "acme_connection": f"acme_erp__{instance_id}",
            "progix_connection": f"progix__{instance_id}",
        },
    )
    store.save(instance)
    fake.add_instance_dags(ACME_ERP, instance_id)
    for key, conn_id in instance.connections.items():
        fake.connections[conn_id] = {
            "connection_id": conn_id,
            "conn_type": "http",
            "host": f"https://{key}.example.com",
            "password": "s3cret-api-key",
        }
    init_dag = ACME_ERP.dag_id(instance_id, INITIALIZATION)
    fake.add_run(
        init_dag,
        "deploy__generation_2",
        "success",
        minutes_ago=30,
        tasks={"webhook_urls": "success", "register_webhooks": "success"},
    )
    fake.xcoms[(init_dag, "deploy__generation_2", "webhook_urls")] = {
        "webhookUrls": {
            "sync-customer-data": f"http://relay.test/hooks/acme-erp/{instance_id}/sync-customer-data",
            "sync-inventory-data": f"http://relay.test/hooks/acme-erp/{instance_id}/sync-inventory-data",
        }
    }
    sync_dag = ACME_ERP.dag_id(instance_id, SYNC_CUSTOMERS)
    fake.add_run(
        sync_dag,
        "relay__batch_7",
        "failed",
        minutes_ago=5,
        conf={"events": [{"id": "e1"}, {"id": "e2"}]},
        tasks={"fetch_customers": "success", "upsert_customers": "failed"},
    )
    return instance
