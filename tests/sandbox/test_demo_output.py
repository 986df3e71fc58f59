"""The demo's output for newcomers: a pasteable export line, honest labels, stops on signals."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from sandbox.stack.demo import (
    DEMO_ACCOUNT,
    DEMO_TENANT,
    Counts,
    export_line,
    print_plain_line,
    where_to_look,
)

ENV = {
    "INTEGRATION_AIRFLOW_URL": "http://127.0.0.1:28080",
    "INTEGRATION_AIRFLOW_PASSWORD": "pw with space",
    "INTEGRATION_INSTANCES_DIR": "/a/very/long/path/" + "x" * 80 + "/instances",
    "INTEGRATION_RELAY_URL": "http://127.0.0.1:28700",
    "INTEGRATION_RELAY_REGISTRAR_TOKEN": "registrar token",
}


def _stack() -> SimpleNamespace:
    return SimpleNamespace(
        airflow_url="http://127.0.0.1:28080",
        airflow_password=lambda user="admin": "pw",
        relay_url="http://127.0.0.1:28000",
        acme_url="http://127.0.0.1:28001",
        progix_url="http://127.0.0.1:28002",
        acme_keys={DEMO_ACCOUNT: "sk_acme"},
        progix_keys={DEMO_TENANT: "sk_progix"},
        log_dir=Path("/tmp/logs"),
        client_environment=lambda: dict(ENV),
    )


@pytest.mark.parametrize("width", [40, 200])
def test_the_export_line_is_one_plain_line_outside_the_box(width: int) -> None:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=False)
    stack = _stack()
    console.print(where_to_look(stack, {"sync-customer-data": "http://relay/hooks/x"}))
    print_plain_line(console, export_line(stack))
    lines = out.getvalue().splitlines()
    exports = [line for line in lines if line.lstrip("│ ").startswith("export ")]
    assert exports == [export_line(stack)]  # whole, alone on its line, no box characters
    assert exports[0].startswith("export INTEGRATION_AIRFLOW_URL=")
    assert "'pw with space'" in exports[0]  # quoted for the shell
    assert ENV["INTEGRATION_INSTANCES_DIR"] in exports[0]


def _counts(stats: dict) -> Counts:
    counts = Counts.__new__(Counts)
    counts.acme_stats = lambda: stats  # type: ignore[method-assign]
    counts.dag_runs = lambda: {"total": 3, "success": 2, "running": 0, "queued": 1, "failed": 0}  # type: ignore[method-assign]
    counts.progix_total = lambda collection: 4  # type: ignore[method-assign]
    return counts


def test_the_live_table_says_how_often_and_what_it_counts() -> None:
    stats = {"events": 5, "delivered": 7, "pending_deliveries": 1, "failed": 0}
    out = io.StringIO()
    console = Console(file=out, width=200)
    console.print(_counts(stats).table(changes=9, every=15))
    text = out.getvalue()
    assert "refreshes every 15 s" in text
    assert "emitted / delivered" not in text
    assert "deliveries to the relay: delivered / pending / failed" in text
    assert "7 / 1 / 0" in text


SCRIPT = """
import sys, time
from sandbox.stack.demo import stop_on_signals
if sys.argv[1] == "install":
    stop_on_signals()
try:
    print("ready", flush=True)
    time.sleep(30)
    print("still running", flush=True)
except KeyboardInterrupt:
    print("stopped", flush=True)
"""


def _run_ignoring_sigint(install: bool, sig: int, wait: float = 10) -> str:
    """As a shell runs `make demo &`: SIGINT ignored from the start."""
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "install" if install else "no"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(sig)
    try:
        out, _ = process.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        return "timed out"
    return out.strip()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_demo_stops_on_signals_even_started_in_the_background(sig: int) -> None:
    assert _run_ignoring_sigint(install=True, sig=sig) == "stopped"


def test_without_the_handlers_a_background_demo_ignores_sigint() -> None:
    """The premise: what a background job inherits (so the test above can fail)."""
    assert _run_ignoring_sigint(install=False, sig=signal.SIGINT, wait=2) == "timed out"
