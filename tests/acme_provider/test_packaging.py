"""The provider wheel, installed into a fresh virtualenv holding only Airflow 3.3, registers
the `acme_erp` connection type and adds nothing else: no plugin, no console script, no
distribution that Airflow itself does not already install (typer, rich, httpx included)."""

from __future__ import annotations

import json
import os
import re
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


NOT_FROM_THE_PROVIDER = ("typer", "rich", "httpx")
"""The platform's CLI and UI dependencies: Airflow may bring them, the provider never does."""


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, f"{argv[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def installed(python: Path, env: dict[str, str], cwd: Path) -> set[str]:
    """The canonical names of every distribution in `python`'s environment."""
    out = run([uv(), "pip", "freeze", "--python", str(python)], env, cwd)
    names = (re.split(r"\s*(?:==|@)\s*", line, maxsplit=1)[0] for line in out.splitlines())
    return {name.strip().lower().replace("_", "-") for name in names if name.strip()}


def state(venv: Path, env: dict[str, str], cwd: Path) -> dict[str, object]:
    """What a user of this Airflow sees: distributions, console scripts, plugins."""
    plugins = run([str(venv / "bin" / "airflow"), "plugins", "--output", "json"], env, cwd)
    return {
        "distributions": installed(venv / "bin" / "python", env, cwd),
        "scripts": {path.name for path in (venv / "bin").iterdir()},
        "plugins": {(p["name"], p["source"]) for p in json.loads(plugins.strip() or "[]")},
    }


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
    run([uv(), "build", "--wheel", "--out-dir", str(dist), str(repo_root / "acme_provider")], env)
    (wheel,) = dist.glob("airflow_provider_acme_erp-*.whl")

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    pip = [uv(), "pip", "install", "--python", str(python)]
    constraints = ["--constraint", str(repo_root / "constraints.txt")]
    run([uv(), "venv", "--python", sys.executable, str(venv)], env)
    run([*pip, *constraints, "apache-airflow==3.3.*"], env)
    clean = state(venv, env, tmp_path)
    run([*pip, *constraints, "apache-airflow==3.3.*", str(wheel)], env)
    with_provider = state(venv, env, tmp_path)

    # Really a fresh environment: the package comes from the wheel, not from this checkout.
    location = run(
        [str(python), "-c", "import acme_provider; print(acme_provider.__file__)"], env, tmp_path
    )
    assert str(venv) in location

    # Nothing but the provider itself: its dependencies are all Airflow's already.
    added = with_provider["distributions"] - clean["distributions"]
    assert added == {DISTRIBUTION}, added
    assert not set(NOT_FROM_THE_PROVIDER) & added
    assert with_provider["scripts"] == clean["scripts"]  # no console script
    assert with_provider["plugins"] == clean["plugins"]  # `airflow plugins` lists nothing new
    assert not [p for p in with_provider["plugins"] if "acme" in str(p).lower()]

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
