"""The real `dags/` folder, parsed as Airflow's DAG processor does (import + serialisation).

Fixture instances: exact DAG ids and tags, no import errors, every DAG serialisable; a broken
instance file yields one import error naming file, field and reason while every good
instance keeps its DAGs; strict mode makes the broken file's shard fail as well.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization

from acme_erp_integration.dags import FACTORY
from integration_platform.integrations.factory import STRICT_ENV
from integration_platform.integrations.instances import INSTANCES_DIR_ENV
from tests.dags.support import DAGS_FOLDER, instance_data, write_instance

INSTANCES = {"shop-1": "Shop One", "acme-demo": "Acme Demo Ltd", "north-wind-7": "North Wind"}
FLOWS = (
    "sync-customer-data",
    "sync-inventory-data",
    "initialization",
    "webhook-drift-repair",
    "teardown",
)
ERRORS_SHIM = f"{FACTORY.errors_file_name}"


@pytest.fixture
def instances_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "instances"
    for instance_id, customer in INSTANCES.items():
        write_instance(directory, instance_data(instance_id, customer, backfill_on_deploy=True))
    monkeypatch.setenv(INSTANCES_DIR_ENV, str(directory))
    monkeypatch.delenv(STRICT_ENV, raising=False)
    monkeypatch.delenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", raising=False)
    return directory


def parse() -> DagBag:
    return DagBag(dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER)


def expected_dags() -> dict[str, list[str]]:
    return {
        f"acme_erp__{instance.replace('-', '_')}__{flow.replace('-', '_')}": [
            f"flow:{flow}",
            f"instance:{instance}",
            "integration:acme-erp",
        ]
        for instance in INSTANCES
        for flow in FLOWS
    }


def instance_of(dag_id: str) -> str:
    return next(i for i in INSTANCES if dag_id.startswith(f"acme_erp__{i.replace('-', '_')}__"))


def shard_file(instance_id: str) -> str:
    return FACTORY.shard_file_names()[FACTORY.shard_of(instance_id)]


def test_the_dag_folder_is_shims_only() -> None:
    shims = sorted(path.name for path in DAGS_FOLDER.glob("*.py"))
    assert shims == sorted([*FACTORY.shard_file_names(), ERRORS_SHIM])
    bodies = {(DAGS_FOLDER / name).read_text() for name in FACTORY.shard_file_names()}
    assert len(bodies) == 1  # identical: the shard comes from the file name
    code = [line for line in next(iter(bodies)).splitlines() if line.strip()]
    assert len(code) == 3  # docstring, import, call: no logic in dags/


def test_exact_dag_ids_and_tags_no_import_errors_all_serialisable(instances_dir: Path) -> None:
    bag = parse()
    assert bag.import_errors == {}
    assert {dag_id: sorted(dag.tags) for dag_id, dag in bag.dags.items()} == expected_dags()
    for dag_id, dag in bag.dags.items():
        DagSerialization.to_dict(dag)  # what the DAG processor stores; raises if it cannot
        assert Path(dag.fileloc).name == shard_file(instance_of(dag_id))


def test_dag_settings_follow_the_flow_trigger(instances_dir: Path) -> None:
    dags = parse().dags
    init = dags["acme_erp__shop_1__initialization"]
    assert (str(init.schedule), init.is_paused_upon_creation, init.max_active_runs) == (
        "@once",
        False,
        1,
    )
    assert list(init.task_dict) == [
        "webhook_urls",
        "desired_webhooks",
        "ensure_webhooks",
        "check_progix_tenant",
        "backfill_customers",
        "backfill_inventory",
    ]
    sync = dags["acme_erp__shop_1__sync_customer_data"]
    assert (sync.schedule, sync.is_paused_upon_creation, sync.max_active_runs) == (None, False, 4)
    assert sync.params["events"][0]["type"] == "customer.updated"
    teardown = dags["acme_erp__shop_1__teardown"]
    assert (teardown.schedule, list(teardown.task_dict)) == (
        None,
        ["delete_webhooks", "retire_routes"],
    )
    task = sync.task_dict["sync_customers"]
    assert (task.retries, task.retry_exponential_backoff) == (3, True)
    assert "Shop One" in sync.doc_md
    assert "deploy generation 1" in sync.doc_md
    assert "/hooks/acme-erp/shop-1/sync-customer-data" in sync.doc_md


def test_a_broken_instance_is_one_import_error_and_the_others_keep_their_dags(
    instances_dir: Path,
) -> None:
    broken = write_instance(
        instances_dir, {**instance_data("shop-2"), "config": {"warehouses": "north"}}
    )

    bag = parse()

    assert set(bag.dags) == set(expected_dags())
    assert list(bag.import_errors) == [ERRORS_SHIM]
    error = bag.import_errors[ERRORS_SHIM]
    assert (
        f"{broken}: config.progix_tenant: Field required; config.warehouses: Input should be a valid list"
        in error
    )


def test_strict_mode_fails_the_broken_files_shard_too(instances_dir, monkeypatch) -> None:
    write_instance(instances_dir, {**instance_data("shop-2"), "colour": "red"})
    monkeypatch.setenv(STRICT_ENV, "1")

    bag = parse()

    failed = shard_file("shop-2")
    assert sorted(bag.import_errors) == sorted([ERRORS_SHIM, failed])
    assert "shop-2.yaml: colour: unknown key" in bag.import_errors[failed]
    survivors = {d for d in expected_dags() if shard_file(instance_of(d)) != failed}
    assert set(bag.dags) == survivors


def test_a_worker_parse_builds_only_the_task_s_dag(instances_dir, monkeypatch) -> None:
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "acme_erp__acme_demo__teardown")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "delete_webhooks")
    bag = DagBag(dag_folder=str(DAGS_FOLDER / shard_file("acme-demo")), bundle_path=DAGS_FOLDER)
    assert list(bag.dags) == ["acme_erp__acme_demo__teardown"]


def test_parsing_a_dag_file_loads_no_http_client(instances_dir: Path) -> None:
    """Hooks load when a task runs, not when a worker parses its DAG file (~0.1 s saved)."""
    probe = (
        "import sys, airflow.sdk\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "loaded = set(sys.modules)\n"
        f"bag = DagBag(dag_folder={str(DAGS_FOLDER / shard_file('acme-demo'))!r},"
        f" bundle_path={str(DAGS_FOLDER)!r})\n"
        "assert bag.dags and not bag.import_errors, bag.import_errors\n"
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - loaded}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    newly_loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert "acme_provider" in newly_loaded  # the probe did import our DAG code
    assert "requests" not in newly_loaded
