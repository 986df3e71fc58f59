"""The `sandbox demo` command (registered in `sandbox.cli`); the work is in `demo.py`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def demo(
    state_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps data and logs (emptied at start).")
    ] = Path(".state/demo"),
    airflow_port: Annotated[
        int, typer.Option(envvar="DEMO_AIRFLOW_PORT", min=1, max=65535, help="Airflow UI/API port.")
    ] = 8080,
    relay_port: Annotated[
        int, typer.Option(envvar="DEMO_RELAY_PORT", min=1, max=65535, help="Webhook relay port.")
    ] = 8700,
    acme_port: Annotated[
        int, typer.Option(envvar="DEMO_ACME_PORT", min=1, max=65535, help="Acme simulator port.")
    ] = 8701,
    progix_port: Annotated[
        int,
        typer.Option(envvar="DEMO_PROGIX_PORT", min=1, max=65535, help="Progix simulator port."),
    ] = 8702,
    rate: Annotated[
        float, typer.Option(min=0.1, help="Customer/inventory changes per second sent to Acme.")
    ] = 5.0,
) -> None:
    """Run Airflow, the relay and both simulators on 127.0.0.1, deploy a demo instance and
    stream changes through it; Ctrl-C stops everything."""
    from rich.console import Console

    from integration_platform.lifecycle.errors import LifecycleError
    from sandbox.processes import ProcessFailed
    from sandbox.stack.demo import DemoOptions, PortBusy, run_demo
    from sandbox.stack.stack import StackPorts

    if not sys.stdout.isatty():  # e.g. `make demo | tee`: show progress as it happens
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    console = Console()
    ports = StackPorts(airflow=airflow_port, relay=relay_port, acme=acme_port, progix=progix_port)
    try:
        run_demo(DemoOptions(state_dir=state_dir, ports=ports, rate=rate), console)
    except (PortBusy, ProcessFailed, RuntimeError, LifecycleError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
