"""The CLI on bad input: a message naming file and field, exit code 2, and nothing changed.

Airflow's URL points at a port where nothing listens: had the CLI tried to change anything
in Airflow before validating, it would have failed with exit code 3 instead of 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from integration_contracts.ids import SEGMENT_RULE
from integration_platform.integrations.instances import Instance, InstanceState, InstanceStore
from integration_platform.lifecycle.cli import app
from integration_platform.registry import integrations
from sandbox.processes import free_port

SECRET = "sk_live_NEVER_SHOWN_991"


@pytest.fixture
def instances_dir(tmp_path: Path) -> Path:
    return tmp_path / "instances"


@pytest.fixture
def cli(instances_dir: Path, monkeypatch: pytest.MonkeyPatch):
    for name in (
        "INTEGRATION_AIRFLOW_URL",
        "INTEGRATION_AIRFLOW_PASSWORD",
        "INTEGRATION_INSTANCES_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    nowhere = f"http://127.0.0.1:{free_port()}"

    def invoke(*args: str):
        return runner.invoke(
            app,
            [
                "--airflow-url",
                nowhere,
                "--instances-dir",
                str(instances_dir),
                "--integration",
                "acme-erp",
                *args,
            ],
            catch_exceptions=False,
        )

    return invoke


def write_request(tmp_path: Path, **overrides) -> Path:
    data = {
        "customer": "Shop One",
        "config": {"progix_tenant": "shop-1"},
        "connections": {
            "acme_connection": {"host": "https://acme.example.com", "password": SECRET},
            "progix_connection": {"host": "https://progix.example.com", "password": "pk"},
        },
    }
    data.update(overrides)
    path = tmp_path / "shop-1.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def save_instance(instances_dir: Path, instance_id: str) -> None:
    InstanceStore(instances_dir, integrations()).save(
        Instance(
            id=instance_id,
            integration="acme-erp",
            customer="Existing",
            generation=1,
            state=InstanceState.ACTIVE,
            config={"progix_tenant": instance_id},
            connections={
                "acme_connection": f"acme_erp__{instance_id}",
                "progix_connection": f"progix__{instance_id}",
            },
        )
    )


def test_an_invalid_config_names_file_and_field_and_changes_nothing(cli, tmp_path, instances_dir):
    path = write_request(tmp_path, config={"progix_tenant": "", "warehouses": "main"})

    result = cli("deploy", "shop-1", "--config", str(path))

    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr
    assert "config.progix_tenant" in result.stderr
    assert "config.warehouses" in result.stderr
    assert SECRET not in result.output
    assert not instances_dir.exists()


def test_an_invalid_instance_id_is_rejected_before_anything_happens(cli, tmp_path, instances_dir):
    result = cli("deploy", "Shop_1", "--config", str(write_request(tmp_path)))

    assert result.exit_code == 2
    assert "instance: instance id 'Shop_1' must be" in result.stderr
    assert SEGMENT_RULE in " ".join(result.stderr.split())  # names the relay's own rule
    assert not instances_dir.exists()


@pytest.mark.parametrize("instance_id", ["x--y", "ab-", "shop_1", "a"])
def test_an_id_the_relay_would_refuse_is_refused_at_deploy_naming_the_rule(
    cli, tmp_path, instances_dir, instance_id
):
    result = cli("deploy", instance_id, "--config", str(write_request(tmp_path)))

    assert result.exit_code == 2
    assert f"instance id {instance_id!r} must be" in result.stderr
    assert "no leading, trailing or double dash" in " ".join(result.stderr.split())
    assert not instances_dir.exists()


def test_json_errors_list_every_field(cli, tmp_path):
    path = write_request(tmp_path, connections={"acme_connection": {"host": "acme"}})

    result = cli("--json", "deploy", "shop-1", "--config", str(path))

    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["error"] == "InvalidRequest"
    assert {f["field"] for f in body["fields"]} == {
        "connections.acme_connection.host",
        "connections.acme_connection.password",
        "connections.progix_connection",
    }


def test_deploy_needs_exactly_one_source_of_config(cli):
    result = cli("deploy", "shop-1")
    assert result.exit_code == 2
    assert "--config FILE or --interactive" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("status", "shop-9"),
        ("remove", "shop-9"),
        ("pause", "shop-9"),
        ("test-flow", "shop-9", "sync-customer-data"),
        ("replay", "shop-9", "--dry-run"),
    ],
)
def test_an_unknown_instance_lists_the_valid_ones(cli, instances_dir, args):
    save_instance(instances_dir, "shop-1")
    save_instance(instances_dir, "shop-2")

    result = cli(*args)

    assert result.exit_code == 2
    assert "no instance 'shop-9'; valid instances: shop-1, shop-2" in result.stderr


def test_an_unknown_flow_lists_the_valid_ones(cli, instances_dir):
    save_instance(instances_dir, "shop-1")

    result = cli("test-flow", "shop-1", "sync-orders")

    assert result.exit_code == 2
    assert (
        "no flow 'sync-orders'; valid flows: sync-customer-data, sync-inventory-data, "
        "initialization, webhook-drift-repair, teardown" in result.stderr
    )


def test_a_bad_payload_file_is_named_before_airflow_is_asked(cli, instances_dir, tmp_path):
    save_instance(instances_dir, "shop-1")
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"events": [{"id": "e1", "type": "inventory.updated"}]}))

    result = cli("test-flow", "shop-1", "sync-customer-data", "--payload", str(payload))

    assert result.exit_code == 2
    assert str(payload) in result.stderr
    assert "events.0.object_id: required" in result.stderr
    assert "events.0.type: 'inventory.updated' does not trigger sync-customer-data" in result.stderr


def test_airflow_unreachable_is_one_sentence_and_exit_code_3(cli, instances_dir):
    save_instance(instances_dir, "shop-1")

    result = cli("status", "shop-1")

    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: Cannot reach Airflow at http://127.0.0.1:")


def test_list_reads_the_instance_files_without_airflow(cli, instances_dir):
    save_instance(instances_dir, "shop-1")

    result = cli("--json", "list")

    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert [(i["id"], i["state"], i["generation"]) for i in body["instances"]] == [
        ("shop-1", "active", 1)
    ]
    assert body["broken_files"] == []


def test_every_command_has_help(cli):
    for command in ("deploy", "remove", "list", "status", "pause", "resume", "test-flow", "replay"):
        result = cli(command, "--help")
        assert result.exit_code == 0, command
        assert "Usage:" in result.stdout
    assert "Exit codes:" in cli("--help").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name the integration; installed: acme-erp, audit-log"),
        (("--integration", "nope"), "unknown integration 'nope'; known: acme-erp, audit-log"),
    ],
)
def test_the_integration_must_be_named_when_several_are_installed(
    instances_dir, monkeypatch, args, message
):
    monkeypatch.delenv("INTEGRATION_SLUG", raising=False)
    result = CliRunner().invoke(
        app, ["--instances-dir", str(instances_dir), *args, "list"], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--state", "running"), "state"),
        (("--mode", "everything"), "mode"),
        (("--batch-size", "0"), "batch_size"),
        (("--flow", "initialization", "--object-id", "x"), "flow"),
        (("--since", "yesterday"), "since"),
        (("--since", "1h", "--until", "2d"), "until"),
    ],
)
def test_replay_options_reach_the_service_and_bad_ones_are_named(cli, instances_dir, args, field):
    """`--state` is the option, not the CLI's context object; bad filters change nothing."""
    save_instance(instances_dir, "shop-1")
    result = cli("--json", "replay", "shop-1", *args, "--dry-run")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert json.loads(result.stdout)["fields"][0]["field"] == field


def test_a_flow_tests_counts_stay_on_one_line_in_a_narrow_pipe(monkeypatch, capsys) -> None:
    """Scripts grep `<task>: fetched …, quarantined …`; Rich must not wrap it at 80 columns."""
    from rich.console import Console

    from integration_platform.lifecycle import cli_output
    from integration_platform.lifecycle.results import FlowTestResult, RunOutcome

    monkeypatch.setattr(cli_output, "out", Console(markup=False, width=40))
    counts = {"fetched": 3, "created": 1, "updated": 0, "stale": 2, "missing": 0}
    counts |= {"quarantined": 0, "events": 3, "objects": 3, "batches": 3}
    run = RunOutcome("acme_erp__shop_1__sync_customer_data", "test__1", "success", "http://x")
    cli_output.print_flow_test(
        FlowTestResult("shop-1", "sync-customer-data", {}, run, {"sync_customers": counts})
    )
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("sync_customers")]
    assert line.endswith("quarantined 0, events 3, objects 3, batches 3")
