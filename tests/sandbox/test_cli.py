"""The `sandbox` command as a user runs it: the load generator, `sandbox up`, bad options."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from sandbox.cli import app
from sandbox.load import LoadGenerator, LoadPlan
from sandbox.processes import ManagedProcess, free_port
from sandbox.simulators import acme_command, progix_command
from tests.support.polling import wait_until
from tests.support.simulators import AcmeSimulator


def sandbox_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_load_generator_creates_and_updates_what_it_reports(
    acme_simulator: AcmeSimulator,
) -> None:
    result = sandbox_cli(
        "load",
        "--acme-url",
        acme_simulator.url,
        "--api-key",
        acme_simulator.api_key,
        "--customers",
        "6",
        "--items",
        "4",
        "--updates",
        "15",
        "--rate",
        "0",
        "--seed",
        "1",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["customers_created"], summary["items_created"]) == (6, 4)
    assert (summary["updates_applied"], summary["failed"]) == (15, 0)
    customers = acme_simulator.list_all("/v1/customers")
    items = acme_simulator.list_all("/v1/inventory")
    assert (len(customers), len(items)) == (6, 4)
    assert sum(r["version"] - 1 for r in customers + items) == 15


def test_load_generator_rides_out_rate_limits(acme_simulator: AcmeSimulator) -> None:
    acme_simulator.set_faults(rate_limit_per_second=20, rate_limit_burst=2)
    plan = LoadPlan(customers=8, items=0, updates=0, rate=0, concurrency=4)
    summary = LoadGenerator(acme_simulator.url, acme_simulator.api_key, plan).run()
    assert summary["throttled_429"] > 0
    assert (summary["customers_created"], summary["failed"]) == (8, 0)
    acme_simulator.clear_faults()  # the check below must not be throttled itself
    assert len(acme_simulator.list_all("/v1/customers")) == 8


def test_a_bad_key_names_where_it_came_from_not_the_key(tmp_path: Path) -> None:
    env = {"COLUMNS": "200", "SANDBOX_ACME_ACCOUNTS": "demo:tiny"}
    result = CliRunner().invoke(app, ["acme", "--port", "1"], env=env)
    assert result.exit_code == 2
    assert "--accounts-file" in result.output
    assert "at least 8 characters" in result.output
    assert "tiny" not in result.output
    keys = tmp_path / "keys"
    keys.write_text("demo:tiny\n")
    result = CliRunner().invoke(app, ["acme", "--port", "1", "--accounts-file", str(keys)], env=env)
    assert result.exit_code == 2
    assert "tiny" not in result.output


def test_api_keys_are_never_command_line_arguments() -> None:
    """`ps` shows every process's arguments to every local user."""
    result = CliRunner().invoke(app, ["acme", "--port", "1", "--account", "demo:sk_long_enough"])
    assert result.exit_code == 2  # no such option
    command = acme_command(port=1, accounts=[("demo", "sk_acme_secret_123")])
    assert not any("sk_acme_secret_123" in arg for arg in command)
    assert command.env == {"SANDBOX_ACME_ACCOUNTS": "demo:sk_acme_secret_123"}
    tenants = progix_command(port=1, tenants=[("t1", "sk_p_1234567"), ("t2", "sk_p_7654321")])
    assert not any("sk_p_" in arg for arg in tenants)
    assert tenants.env == {"SANDBOX_PROGIX_TENANTS": "t1:sk_p_1234567,t2:sk_p_7654321"}


def wait_for_line(path: Path, pattern: str, process: ManagedProcess, timeout: float) -> str:
    def printed() -> str | None:
        text = path.read_text() if path.exists() else ""
        assert process.is_running(), process.log_tail()
        return text if re.search(pattern, text) else None

    return wait_until(
        printed,
        timeout=timeout,
        what=f"{pattern!r} printed",
        interval=0.2,
        details=process.log_tail,
    )


def test_up_starts_both_simulators_with_demo_data_and_stops_them(tmp_path: Path) -> None:
    acme_port, progix_port = free_port(), free_port()
    log = tmp_path / "up.log"
    up = ManagedProcess(
        "sandbox-up",
        [
            sys.executable,
            "-m",
            "sandbox",
            "up",
            "--state-dir",
            str(tmp_path / "state"),
            "--acme-port",
            str(acme_port),
            "--progix-port",
            str(progix_port),
        ],
        log_path=log,
    )
    with up:
        output = wait_for_line(log, r"Ctrl-C stops both", up, timeout=120)
        acme_key = re.search(r"API key (sk_acme_\S+)", output).group(1)  # type: ignore[union-attr]
        progix_key = re.search(r"API key (sk_progix_\S+)", output).group(1)  # type: ignore[union-attr]
        acme_url, progix_url = f"http://127.0.0.1:{acme_port}", f"http://127.0.0.1:{progix_port}"
        assert f"{acme_url}/docs" in output
        assert f"{progix_url}/docs" in output
        customers = httpx.get(
            f"{acme_url}/v1/customers", headers={"authorization": f"Bearer {acme_key}"}
        ).json()
        assert len(customers["data"]) == 4
        progix = httpx.get(
            f"{progix_url}/v1/customers", headers={"authorization": f"Bearer {progix_key}"}
        )
        assert progix.json()["total"] == 0
        assert httpx.get(f"{progix_url}/docs").status_code == 200
    for url in (acme_url, progix_url):
        try:
            httpx.get(f"{url}/healthz", timeout=2)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"{url} still answers after `sandbox up` stopped")


def test_load_generator_in_batches_applies_every_change(acme_simulator: AcmeSimulator) -> None:
    plan = LoadPlan(customers=7, items=5, updates=23, rate=0, concurrency=2, seed=3, batch_size=4)
    summary = LoadGenerator(acme_simulator.url, acme_simulator.api_key, plan).run()
    assert (summary["customers_created"], summary["items_created"]) == (7, 5)
    assert (summary["updates_applied"], summary["failed"]) == (23, 0)
    assert summary["requests"] < 7 + 5 + 23  # batched: fewer requests than changes
    records = acme_simulator.list_all("/v1/customers") + acme_simulator.list_all("/v1/inventory")
    assert len(records) == 12
    assert sum(r["version"] - 1 for r in records) == 23
    assert acme_simulator.stats()["events"] == 7 + 5 + 23
