"""Pause and resume never make a new DAG version: the serialized DAG holds only what a deploy
changes (Airflow stores a new version whenever a DAG's serialized form differs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.serialization.serialized_objects import DagSerialization

from acme_erp_integration.dags import FACTORY
from integration_platform.integrations.factory import STRICT_ENV
from integration_platform.integrations.instances import INSTANCES_DIR_ENV
from tests.dags.support import instance_data, write_instance


def _serialized(dags_dir: Path, data: dict) -> dict[str, str]:
    write_instance(dags_dir / "instances", data)
    shard = FACTORY.shard_of(data["id"])
    module_globals: dict = {}
    FACTORY.populate_shard(dags_dir / f"acme_erp_shard_{shard}.py", module_globals)
    return {
        dag_id: json.dumps(DagSerialization.to_dict(dag), sort_keys=True, default=str)
        for dag_id, dag in module_globals.items()
    }


@pytest.fixture
def dags_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (INSTANCES_DIR_ENV, STRICT_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "dags"


def test_pausing_resuming_or_failing_changes_no_dag(dags_dir: Path) -> None:
    active = _serialized(dags_dir, instance_data("shop-1"))
    assert len(active) == 5
    for state, status in (
        ("paused", {}),
        ("active", {}),
        ("failed", {"reason": "Initialization failed", "log_url": "http://x/log"}),
    ):
        changed = {**instance_data("shop-1"), "state": state, "status": status}
        assert _serialized(dags_dir, changed) == active, state


def test_a_deploy_with_new_config_does_change_the_dags(dags_dir: Path) -> None:
    before = _serialized(dags_dir, instance_data("shop-1"))
    after = _serialized(dags_dir, {**instance_data("shop-1", customer="Renamed"), "generation": 2})
    assert after.keys() == before.keys()
    assert all(after[d] != before[d] for d in before)
