"""The generic DAG factory: shards, the worker's one-DAG parse, broken files, strict mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from acme_erp_integration.dags import FACTORY
from acme_erp_integration.definition import ACME_ERP
from acme_erp_integration.flows import FLOW_RECIPES
from integration_platform.integrations.factory import (
    STRICT_ENV,
    DagFactory,
    InstanceFilesInvalid,
    shard_of,
)
from integration_platform.integrations.instances import INSTANCES_DIR_ENV
from tests.dags.support import instance_data, write_instance

PARSING_DAG_ID = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"
FLOW_SUFFIXES = (
    "sync_customer_data",
    "sync_inventory_data",
    "initialization",
    "webhook_drift_repair",
    "teardown",
)


@pytest.fixture
def dags_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAG folder whose instances live in `instances/` next to the shims (the default)."""
    for name in (INSTANCES_DIR_ENV, STRICT_ENV, PARSING_DAG_ID):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "dags"


def parse_shard(dags_dir: Path, shard: int) -> dict:
    module_globals: dict = {}
    FACTORY.populate_shard(dags_dir / f"acme_erp_shard_{shard}.py", module_globals)
    return module_globals


def all_shards(dags_dir: Path) -> dict[int, set[str]]:
    return {shard: set(parse_shard(dags_dir, shard)) for shard in range(FACTORY.shard_count)}


def dag_ids(instance_id: str) -> set[str]:
    return {f"acme_erp__{instance_id.replace('-', '_')}__{flow}" for flow in FLOW_SUFFIXES}


def test_shards_are_stable_and_balanced() -> None:
    # Fixed values: changing the hash would move every DAG to another file.
    assert [shard_of(i, 8) for i in ("shop-1", "shop-2", "acme-demo", "customer-999")] == [
        0,
        2,
        4,
        6,
    ]
    sizes = [0] * 8
    for n in range(1000):
        sizes[shard_of(f"customer-{n}", 8)] += 1
    assert min(sizes) > 100
    assert max(sizes) < 150


def test_every_instance_lands_in_exactly_one_shard(dags_dir: Path) -> None:
    ids = ["shop-1", "shop-2", "acme-demo", "customer-999", "zz-top"]
    for instance_id in ids:
        write_instance(dags_dir / "instances", instance_data(instance_id))
    shards = all_shards(dags_dir)
    for instance_id in ids:
        holders = [s for s, found in shards.items() if dag_ids(instance_id) <= found]
        assert holders == [FACTORY.shard_of(instance_id)]
    assert set().union(*shards.values()) == set().union(*(dag_ids(i) for i in ids))


def test_instances_dir_env_overrides_the_default(dags_dir, tmp_path, monkeypatch) -> None:
    write_instance(dags_dir / "instances", instance_data("shop-1"))
    write_instance(tmp_path / "elsewhere", instance_data("shop-2"))
    monkeypatch.setenv(INSTANCES_DIR_ENV, str(tmp_path / "elsewhere"))
    assert set().union(*all_shards(dags_dir).values()) == dag_ids("shop-2")


def test_a_broken_file_is_skipped_and_the_rest_still_build(dags_dir: Path) -> None:
    write_instance(dags_dir / "instances", instance_data("shop-1"))  # shard 0
    write_instance(dags_dir / "instances", {**instance_data("bad-1"), "colour": "red"})
    assert set().union(*all_shards(dags_dir).values()) == dag_ids("shop-1")


def test_the_error_shim_names_every_broken_file_field_and_reason(dags_dir: Path) -> None:
    instances = dags_dir / "instances"
    write_instance(instances, instance_data("shop-1"))
    FACTORY.report_broken_instances(dags_dir / FACTORY.errors_file_name)  # nothing broken yet
    bad_type = write_instance(instances, {**instance_data("bad-1"), "generation": "two"})
    bad_key = write_instance(
        instances, {**instance_data("bad-2"), "config": {"progix_tenant": "t", "x": 1}}
    )
    with pytest.raises(InstanceFilesInvalid) as caught:
        FACTORY.report_broken_instances(dags_dir / FACTORY.errors_file_name)
    message = str(caught.value)
    assert message.splitlines()[1:] == [
        f"{bad_type}: generation: Input should be a valid integer, unable to parse string as an integer",
        f"{bad_key}: config.x: unknown key",
    ]


def test_strict_mode_makes_the_broken_files_shard_fail(dags_dir, monkeypatch) -> None:
    write_instance(dags_dir / "instances", {**instance_data("shop-2"), "generation": 0})  # shard 2
    write_instance(dags_dir / "instances", instance_data("shop-1"))  # shard 0
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(
        InstanceFilesInvalid, match=r"shop-2.yaml: generation: Input should be greater"
    ):
        parse_shard(dags_dir, 2)
    assert set(parse_shard(dags_dir, 0)) == dag_ids("shop-1")


def test_a_worker_builds_only_its_dag_from_only_its_file(dags_dir, monkeypatch) -> None:
    instances = dags_dir / "instances"
    write_instance(instances, instance_data("shop-1"))  # shard 0
    # Same shard, broken: a full parse would read it; the worker must not even open it.
    other = write_instance(instances, instance_data("other-6"))
    assert FACTORY.shard_of("other-6") == 0
    other.write_text("not: [valid")
    monkeypatch.setenv(STRICT_ENV, "1")
    monkeypatch.setenv(PARSING_DAG_ID, "acme_erp__shop_1__sync_inventory_data")
    assert list(parse_shard(dags_dir, 0)) == ["acme_erp__shop_1__sync_inventory_data"]
    assert parse_shard(dags_dir, 2) == {}  # not this shard's instance
    FACTORY.report_broken_instances(dags_dir / FACTORY.errors_file_name)  # workers skip it
    monkeypatch.setenv(PARSING_DAG_ID, "some_other_dag")
    assert parse_shard(dags_dir, 0) == {}


def test_shim_names_and_recipes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"must be named acme_erp_shard_<n>\.py with 0 <= n < 8"):
        FACTORY.shard_from_file("dags/acme_erp_shard_8.py")
    with pytest.raises(ValueError, match="must be named"):
        FACTORY.shard_from_file("dags/acme_erp.py")
    recipes = {k: v for k, v in FLOW_RECIPES.items() if k != "teardown"}
    with pytest.raises(ValueError, match=r"missing: \['teardown'\]"):
        DagFactory(ACME_ERP, recipes)


def test_every_task_keeps_its_result_in_one_xcom(dags_dir: Path) -> None:
    """TaskFlow pushes one XCom per key of a returned dict unless told not to: twelve
    Execution API calls per sync run instead of one, most of a quiet run's latency (measured)."""
    write_instance(dags_dir / "instances", instance_data("shop-1"))
    dags = parse_shard(dags_dir, FACTORY.shard_of("shop-1"))
    tasks = [task for dag_id in dag_ids("shop-1") for task in dags[dag_id].tasks]
    assert len(tasks) > len(FLOW_SUFFIXES)
    assert [t.task_id for t in tasks if getattr(t, "multiple_outputs", False)] == []
