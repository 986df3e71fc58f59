"""Deploy and remove of one instance are exclusive across processes (CLI and UI plugin)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.errors import ExitCode, InstanceBusy
from integration_platform.lifecycle.instance_lock import instance_lock
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings

HOLD_LOCK = """
import sys
from pathlib import Path
from integration_platform.lifecycle.instance_lock import instance_lock
with instance_lock(Path(sys.argv[1]), sys.argv[2]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def lock_held_elsewhere(tmp_path: Path) -> Iterator[Path]:
    """Another process holding shop-1's lock until the test ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path), "shop-1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    yield tmp_path
    holder.communicate("\n", timeout=30)


def offline_service(instances_dir: Path, calls: list[str]) -> InstanceService:
    def airflow(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        return httpx.Response(503)

    client = AirflowClient(
        "http://airflow.test", "admin", "pw", attempts=1, transport=httpx.MockTransport(airflow)
    )
    return InstanceService(LifecycleSettings(instances_dir=instances_dir), client=client)


def test_a_second_deploy_is_refused_at_once_and_changes_nothing(lock_held_elsewhere: Path):
    calls: list[str] = []
    service = offline_service(lock_held_elsewhere, calls)
    request = DeployRequest.from_mapping(
        {
            "customer": "Shop One",
            "config": {"progix_tenant": "shop-1"},
            "connections": {
                "acme_connection": {"host": "https://acme.example.com", "password": "ak"},
                "progix_connection": {"host": "https://progix.example.com", "password": "pk"},
            },
        },
        source="shop-1.yaml",
    )

    with pytest.raises(InstanceBusy, match="another deploy or remove of 'shop-1' is running"):
        service.deploy("shop-1", request)
    with pytest.raises(InstanceBusy):
        service.remove("shop-1")

    assert calls == []  # not even Airflow was asked anything
    assert not service.store.exists("shop-1")
    assert InstanceBusy("shop-1").exit_code is ExitCode.BUSY


def test_other_instances_and_later_callers_are_not_blocked(tmp_path: Path) -> None:
    entered = []
    with instance_lock(tmp_path, "shop-1"), instance_lock(tmp_path, "shop-2"):
        entered.append("both at once")
    with instance_lock(tmp_path, "shop-1"):  # released when the block ended
        entered.append("shop-1 again")
    assert entered == ["both at once", "shop-1 again"]
    assert sorted(p.name for p in (tmp_path / ".locks").iterdir()) == ["shop-1.lock", "shop-2.lock"]
