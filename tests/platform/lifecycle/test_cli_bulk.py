"""`bulk-deploy` on the command line: every file gets a line, bad files name file and field,
the rest are still attempted, and the exit code says the worst that happened.

Airflow's URL points at a port where nothing listens, so the valid requests fail (exit 1)
after the invalid ones were already reported without touching Airflow.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.platform.lifecycle.test_bulk import SECRET, request_data, write
from tests.platform.lifecycle.test_cli import cli, instances_dir  # noqa: F401 - fixtures


def test_each_file_is_reported_and_a_bad_one_does_not_stop_the_others(cli, tmp_path: Path):  # noqa: F811
    directory = tmp_path / "requests"
    write(directory, "shop-1.yaml", request_data())
    write(directory, "shop-2.yaml", request_data())
    bad = write(directory, "shop-3.yaml", {**request_data(), "config": {"warehouses": "main"}})

    result = cli("--json", "bulk-deploy", str(directory), "--concurrency", "2")

    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)
    assert body["counts"] == {"deployed": 0, "unchanged": 0, "failed": 2, "invalid": 1}
    items = {item["instance"]: item for item in body["items"]}
    assert items["shop-3"]["outcome"] == "invalid"
    assert items["shop-3"]["source"] == str(bad)
    assert {e["field"] for e in items["shop-3"]["errors"]} == {
        "config.progix_tenant",
        "config.warehouses",
    }
    for instance in ("shop-1", "shop-2"):  # attempted: they reached for Airflow
        assert items[instance]["outcome"] == "failed"
        assert "Cannot reach Airflow" in items[instance]["message"]
    assert "shop-3: invalid" in result.stderr  # progress: one line per instance
    assert "shop-1: failed" in result.stderr
    assert SECRET not in result.output


def test_the_summary_table_and_exit_code_2_when_only_files_were_bad(cli, tmp_path: Path):  # noqa: F811
    directory = tmp_path / "requests"
    write(directory, "Shop_1.yaml", request_data())

    result = cli("bulk-deploy", str(directory))

    assert result.exit_code == 2, result.output
    assert "Shop_1" in result.stdout
    assert "invalid" in result.stdout
    assert "0 deployed, 0 unchanged, 0 failed, 1 invalid" in result.stdout


def test_a_missing_directory_is_bad_input(cli, tmp_path: Path):  # noqa: F811
    result = cli("bulk-deploy", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "nowhere: (directory): not a directory" in result.stderr


def test_a_bad_concurrency_setting_names_the_variable(cli, tmp_path: Path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("INTEGRATION_BULK_CONCURRENCY", "0")
    result = cli("bulk-deploy", str(tmp_path))
    assert result.exit_code == 2
    assert "INTEGRATION_BULK_CONCURRENCY: must be a whole number >= 1" in result.stderr
