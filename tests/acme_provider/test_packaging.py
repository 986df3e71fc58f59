"""The wheel, installed into a fresh virtualenv with only Airflow 3.3, registers the provider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DISTRIBUTION = "airflow-provider-acme-erp"

PROBE = """
import json
from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
pm = ProvidersManager()
provider = pm.providers["airflow-provider-acme-erp"]
hook = ProvidersManagerTaskRuntime().hooks["acme_erp"]
print(json.dumps({
    "version": provider.version,
    "hook_class": hook.hook_class_name,
    "hook_name": hook.hook_name,
    "behaviour": pm.field_behaviours["acme_erp"],
    "fields": sorted(k for k in pm.connection_form_widgets if k.startswith("extra__acme_erp__")),
}))
"""


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    assert Path(found).exists(), "uv is installed into .venv by `make venv`"
    return found


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, f"{argv[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_wheel_registers_provider_in_a_fresh_virtualenv(tmp_path: Path, repo_root: Path) -> None:
    # Keep the machine's network settings (proxies, CA bundles); drop anything that would
    # point at this checkout's Airflow or virtualenv.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_", "AIRFLOW__", "VIRTUAL_ENV", "PYTHON"))
    }
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow_home")
    dist = tmp_path / "dist"
    run([uv(), "build", "--wheel", "--out-dir", str(dist), str(repo_root)], env)
    (wheel,) = dist.glob("airflow_provider_acme_erp-*.whl")

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    run([uv(), "venv", "--python", sys.executable, str(venv)], env)
    run([uv(), "pip", "install", "--python", str(python), "apache-airflow==3.3.*", str(wheel)], env)

    # Really a fresh environment: the package comes from the wheel, not from this checkout.
    location = run(
        [str(python), "-c", "import acme_provider; print(acme_provider.__file__)"], env, tmp_path
    )
    assert str(venv) in location

    probe = json.loads(run([str(python), "-c", PROBE], env, tmp_path).strip().splitlines()[-1])
    assert probe["hook_class"] == "acme_provider.hooks.acme_erp.AcmeErpHook"
    assert probe["hook_name"] == "Acme ERP"
    assert probe["behaviour"]["relabeling"] == {"host": "Acme API base URL", "password": "API key"}
    assert probe["fields"] == [
        "extra__acme_erp__max_retries",
        "extra__acme_erp__max_retry_wait",
        "extra__acme_erp__timeout",
    ]

    listing = run([str(venv / "bin" / "airflow"), "providers", "list"], env, tmp_path)
    assert DISTRIBUTION in listing
    assert probe["version"] in listing
