"""Bulk deploy: request files read and validated, at most N deploys at once, one instance's
failure never another's, and a summary with an exit code.

The service is the real one (real request files, real validation) with only `deploy`
replaced by a slow recorder, so that how many run at once can be observed; the CLI tests
below run the real deploy against an Airflow that is not there.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from integration_platform.integrations.instances import Instance, InstanceState
from integration_platform.lifecycle.bulk import BulkRequest, deploy_many, requests_in
from integration_platform.lifecycle.errors import ExitCode, InstanceBusy, InvalidRequest
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.results import DeployResult
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings

SECRET = "sk_live_NEVER_SHOWN_424"


def request_data(tenant: str = "shop-1") -> dict:
    return {
        "customer": "Shop",
        "config": {"progix_tenant": tenant},
        "connections": {
            "acme_connection": {"host": "https://acme.example.com", "password": SECRET},
            "progix_connection": {"host": "https://progix.example.com", "password": "pk"},
        },
    }


def write(directory: Path, name: str, data: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


class Recorder:
    """What the slow deploys saw: how many ran at once, and which instances ran."""

    def __init__(self, seconds: float = 0.15) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.deployed: list[str] = []
        self.fail: dict[str, Exception] = {}
        self.closed = 0


def factory(tmp_path: Path, recorder: Recorder):
    settings = LifecycleSettings(instances_dir=tmp_path / "instances")

    class SlowService(InstanceService):
        def deploy(self, instance_id, request, *, progress=None, force=False) -> DeployResult:
            with recorder.lock:
                recorder.running += 1
                recorder.peak = max(recorder.peak, recorder.running)
            try:
                (progress or print)(f"Deploying {instance_id}")
                time.sleep(recorder.seconds)
                if instance_id in recorder.fail:
                    raise recorder.fail[instance_id]
                with recorder.lock:
                    recorder.deployed.append(instance_id)
                instance = Instance(
                    id=instance_id,
                    integration="acme-erp",
                    customer=request.customer,
                    generation=1,
                    state=InstanceState.ACTIVE,
                    config=dict(request.config),
                )
                outcome = "unchanged" if instance_id.endswith("-same") else "deployed"
                return DeployResult(instance=instance, outcome=outcome, message="ok")
            finally:
                with recorder.lock:
                    recorder.running -= 1

        def close(self) -> None:
            recorder.closed += 1

    return lambda: SlowService(settings, integration="acme-erp")


def bulk_requests(*ids: str) -> list[BulkRequest]:
    return [
        BulkRequest(i, f"{i}.yaml", DeployRequest.from_mapping(request_data(), source=f"{i}.yaml"))
        for i in ids
    ]


def test_at_most_n_deploys_run_at_once_and_all_of_them_run(tmp_path: Path) -> None:
    recorder = Recorder()
    ids = [f"shop-{n}" for n in range(1, 8)]

    report = deploy_many(factory(tmp_path, recorder), bulk_requests(*ids), concurrency=3)

    assert recorder.peak == 3
    assert sorted(recorder.deployed) == sorted(ids)
    assert [item.instance for item in report.items] == ids  # request order, not finish order
    assert report.counts == {"deployed": 7, "unchanged": 0, "failed": 0, "invalid": 0}
    assert report.exit_code is ExitCode.OK
    assert recorder.closed == 8  # one service per deploy, plus the one that validated


def test_one_concurrent_deploy_at_a_time_with_concurrency_one(tmp_path: Path) -> None:
    recorder = Recorder(seconds=0.05)
    deploy_many(factory(tmp_path, recorder), bulk_requests("a1", "a2", "a3"), concurrency=1)
    assert recorder.peak == 1


def test_a_failing_deploy_is_its_own_line_and_the_others_still_deploy(tmp_path: Path) -> None:
    recorder = Recorder(seconds=0.05)
    recorder.fail = {"shop-2": InstanceBusy("shop-2"), "shop-3": RuntimeError("a bug")}
    seen: list[str] = []
    steps: list[tuple[str, str]] = []

    report = deploy_many(
        factory(tmp_path, recorder),
        bulk_requests("shop-1", "shop-2", "shop-3", "shop-4-same"),
        concurrency=2,
        progress=lambda instance, line: steps.append((instance, line)),
        done=lambda item: seen.append(item.instance),
    )

    outcomes = {item.instance: (item.outcome, item.message) for item in report.items}
    assert outcomes["shop-1"] == ("deployed", "ok")
    assert outcomes["shop-2"][0] == "failed"
    assert "another deploy or remove of 'shop-2' is running" in outcomes["shop-2"][1]
    assert outcomes["shop-3"] == ("failed", "unexpected error (RuntimeError)")
    assert outcomes["shop-4-same"] == ("unchanged", "ok")
    assert report.exit_code is ExitCode.FAILED
    assert not report.ok
    assert sorted(seen) == ["shop-1", "shop-2", "shop-3", "shop-4-same"]
    assert ("shop-1", "Deploying shop-1") in steps


def test_invalid_requests_are_reported_with_file_and_field_and_never_deployed(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "requests"
    write(directory, "shop-1.yaml", request_data())
    write(directory, "shop-2.yaml", {**request_data(), "config": {"progix_tenant": ""}})
    write(directory, "Shop_3.yaml", request_data())  # not an instance id
    write(directory, "shop-4.yaml", "customer: [unclosed")
    write(directory, "shop-5.yaml", request_data())
    write(directory, "shop-5.json", "{}")  # two requests for shop-5: which one is meant?
    write(directory, "notes.txt", "not a request")
    recorder = Recorder(seconds=0.01)

    report = deploy_many(factory(tmp_path, recorder), requests_in(directory), concurrency=4)

    assert recorder.deployed == ["shop-1"]
    by_source = {Path(item.source).name: item for item in report.items}
    assert set(by_source) == {
        "Shop_3.yaml",
        "shop-1.yaml",
        "shop-2.yaml",
        "shop-4.yaml",
        "shop-5.json",
        "shop-5.yaml",
    }
    assert by_source["shop-1.yaml"].outcome == "deployed"
    fields = {name: [e.field for e in item.errors] for name, item in by_source.items()}
    assert fields["shop-2.yaml"] == ["config.progix_tenant"]
    assert fields["Shop_3.yaml"] == ["instance"]
    assert fields["shop-4.yaml"] == ["(file)"]
    assert "not valid YAML" in by_source["shop-4.yaml"].message
    for name in ("shop-5.json", "shop-5.yaml"):
        assert fields[name] == ["(file)"]
        assert "2 requests for 'shop-5' (shop-5.json, shop-5.yaml)" in by_source[name].message
    assert report.counts == {"deployed": 1, "unchanged": 0, "failed": 0, "invalid": 5}
    assert report.exit_code is ExitCode.BAD_INPUT
    assert all(SECRET not in item.message for item in report.items)


def test_a_directory_with_no_request_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="not a directory"):
        requests_in(tmp_path / "missing")
    write(tmp_path / "empty", "README.md", "nothing to deploy")
    with pytest.raises(InvalidRequest, match=r"no \*\.yaml, \*\.yml, \*\.json file"):
        requests_in(tmp_path / "empty")


@pytest.mark.parametrize("concurrency", [0, 33])
def test_concurrency_outside_its_bounds_is_refused_before_anything_runs(
    tmp_path: Path, concurrency: int
) -> None:
    recorder = Recorder()
    with pytest.raises(InvalidRequest, match="concurrency: must be a whole number from 1 to 32"):
        deploy_many(factory(tmp_path, recorder), bulk_requests("shop-1"), concurrency=concurrency)
    assert recorder.deployed == []


def test_the_setting_comes_from_the_environment_and_is_checked() -> None:
    assert LifecycleSettings.from_env({}).bulk_concurrency == 4
    assert LifecycleSettings.from_env({"INTEGRATION_BULK_CONCURRENCY": "2"}).bulk_concurrency == 2
    with pytest.raises(InvalidRequest, match="INTEGRATION_BULK_CONCURRENCY: must be a whole"):
        LifecycleSettings.from_env({"INTEGRATION_BULK_CONCURRENCY": "many"})
