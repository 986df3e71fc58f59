"""The CLI prints what people typed and what went wrong as given, and lists every exit code."""

# ruff: noqa: F811 - the fixtures of test_cli, imported by name

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from integration_platform.lifecycle.errors import ExitCode
from tests.platform.lifecycle.test_cli import cli, instances_dir, write_request  # noqa: F401


def test_help_lists_every_exit_code(cli):
    text = " ".join(cli("--help").output.split())
    for code in ExitCode:
        assert f"{int(code)} " in text.split("Exit codes:", 1)[1], code


@pytest.mark.parametrize("name", ["[/x]", "[bold]shop", "[red]"])
def test_markup_in_an_argument_is_printed_not_interpreted(cli, name):
    result = cli("status", name)
    assert result.exit_code == 2
    assert name in result.output
    assert "MarkupError" not in result.output


def test_brackets_in_a_validation_message_are_printed_whole(cli, tmp_path):
    config = {"progix_tenant": "t-1", "[b]tenant[/b]": "x", "[/x]": "y"}
    result = cli("deploy", "shop-1", "--config", str(write_request(tmp_path, config=config)))
    assert result.exit_code == 2
    assert "config.[b]tenant[/b]" in result.output
    assert "config.[/x]" in result.output


def test_the_airflow_password_is_never_an_argument(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # option names whole in the help table
    result = cli("--airflow-password", "pw", "list")
    assert result.exit_code == 2  # no such option
    assert "--airflow-password-file" in cli("--help").output


def test_the_password_file_is_read_and_a_missing_one_named(cli, tmp_path: Path):
    missing = tmp_path / "nope"
    result = cli("--airflow-password-file", str(missing), "list")
    assert result.exit_code == 2
    assert str(missing) in " ".join(result.output.split())
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert cli("--airflow-password-file", str(secret), "list").exit_code == 0


def test_no_console_entry_point_takes_a_password_argument():
    """`ps` shows arguments to every local user: the real console script has no such flag."""
    script = Path(sys.executable).parent / "acme-erp"
    assert script.exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRATION_")}
    env["COLUMNS"] = "200"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env)
    assert "--airflow-password " not in out.stdout
    assert "--airflow-password-file" in out.stdout


def test_validation_lists_shape_and_value_problems_at_once(cli, tmp_path, instances_dir):
    path = write_request(
        tmp_path, customer="", extra=1, config={"progix_tenant": "", "warehouses": "main"}
    )
    result = cli("--json", "deploy", "Bad_Id", "--config", str(path))
    assert result.exit_code == 2
    fields = {item["field"] for item in json.loads(result.stdout)["fields"]}
    assert {"extra", "customer", "instance", "config.progix_tenant", "config.warehouses"} <= fields
    assert not instances_dir.exists()
