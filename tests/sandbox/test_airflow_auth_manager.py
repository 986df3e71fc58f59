"""The stack's Airflow under either auth manager: what each gets, and that FAB's launcher
stops its components together (a dead component stops the rest; so does SIGTERM)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.stack.airflow import AUTH_MANAGERS, AirflowSettings
from sandbox.stack.airflow_fab import FAB_ROLES, PASSWORDS_FILE_ENV


def _settings(tmp_path: Path, auth_manager: str) -> AirflowSettings:
    return AirflowSettings(
        home=tmp_path / "home",
        dags_folder=tmp_path / "dags",
        plugins_folder=tmp_path / "plugins",
        instances_dir=tmp_path / "instances",
        database_url="postgresql://x@127.0.0.1:1/airflow",
        relay_public_url="http://127.0.0.1:2",
        relay_registrar_token="registrar",
        auth_manager=auth_manager,
    )


def test_fab_gets_fabs_auth_manager_and_no_simple_auth_manager_users(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "fab")
    env = settings.environment()
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == AUTH_MANAGERS["fab"]
    assert env[PASSWORDS_FILE_ENV] == str(settings.passwords_file)
    assert not [name for name in env if "SIMPLE_AUTH_MANAGER" in name]
    assert set(FAB_ROLES) == set(settings.passwords)  # every stack user gets a FAB role
    assert not [v for v in env.values() if any(p in v for p in settings.passwords.values())]


def test_simple_keeps_standalones_users(tmp_path: Path) -> None:
    env = _settings(tmp_path, "simple").environment()
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == AUTH_MANAGERS["simple"]
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin,relay:user,viewer:viewer"


# Airflow's defaults that cost this stack latency or CPU (measured), each a setting of ours:
# the idle scheduler's 1 s sleep was most of a quiet run's latency; the supervisor sees its
# task's exit only at its next wake-up (5 s), holding the slot; 10 s re-parsing shows a first
# instance quickly, and the benchmarks run Airflow's default 30 s.
STACK_TUNING = [
    ("scheduler_idle_sleep", "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME", "0.25", 1.0, "1.0"),
    ("worker_min_heartbeat_interval", "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1", 5, "5"),
    (
        "min_file_process_interval",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
        "10",
        30,
        "30",
    ),
]


@pytest.mark.parametrize(("attribute", "variable", "default", "value", "shown"), STACK_TUNING)
def test_each_tuned_setting_reaches_every_component(
    tmp_path: Path, attribute: str, variable: str, default: str, value: object, shown: str
) -> None:
    settings = _settings(tmp_path, "simple")
    assert settings.environment()[variable] == default
    setattr(settings, attribute, value)
    assert settings.environment()[variable] == shown


def test_an_unknown_auth_manager_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="auth_manager must be one of"):
        _settings(tmp_path, "ldap")


SUPERVISE = "import sys; from sandbox.stack import airflow_fab; "
SUPERVISE += "sys.exit(airflow_fab.supervise(sys.argv[1], ('a', 'b')))"


def _fake_airflow(tmp_path: Path, body: str) -> Path:
    """An `airflow` that notes each component it runs, then does `body`."""
    script = tmp_path / "airflow"
    script.write_text(f'#!/bin/sh\ntouch "{tmp_path}/started-$1"\n{body}\n')
    script.chmod(0o755)
    return script


def test_one_component_dying_stops_the_others_and_fails(tmp_path: Path) -> None:
    # "a" exits 3 at once, "b" would sleep a minute: supervise returns 3 well before.
    fake = _fake_airflow(tmp_path, 'if [ "$1" = a ]; then exit 3; fi; exec sleep 60')
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", SUPERVISE, str(fake)], timeout=60, check=False)
    assert done.returncode == 3
    assert time.monotonic() - started < 45


def test_sigterm_stops_every_component(tmp_path: Path) -> None:
    fake = _fake_airflow(tmp_path, "exec sleep 60")
    launcher = subprocess.Popen([sys.executable, "-c", SUPERVISE, str(fake)])
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(list(tmp_path.glob("started-*"))) == 2
    started = time.monotonic()
    launcher.send_signal(signal.SIGTERM)  # only the launcher: it must stop its components
    assert launcher.wait(timeout=30) == 0
    assert time.monotonic() - started < 25  # not the components' own 60 s
