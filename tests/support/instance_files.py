"""An Acme ERP instance file written straight into an instances directory, and removed again:
for tests of what the DAG factory and the UI make of a file, without a deploy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from acme_erp_integration.definition import ACME_ERP
from integration_platform.integrations.instances import Instance, InstanceStore
from integration_platform.registry import integrations


@contextmanager
def acme_erp_instance_file(instances_dir: Path, instance_id: str, customer: str) -> Iterator[str]:
    """The instance's file (generation 1, the first Progix tenant) while the block runs."""
    store = InstanceStore(instances_dir, integrations())
    store.save(
        Instance(
            id=instance_id,
            integration=ACME_ERP.slug,
            customer=customer,
            generation=1,
            config={"progix_tenant": "progix-one"},
            connections={
                "acme_connection": f"acme_erp__{instance_id}",
                "progix_connection": f"progix__{instance_id}",
            },
        )
    )
    try:
        yield instance_id
    finally:
        store.delete(instance_id)
