"""`integrations rotate`: new webhook secrets for one instance or all, handed to the source."""

from __future__ import annotations

from typing import Annotated

import typer

from integration_platform.lifecycle.cli import app
from integration_platform.lifecycle.cli_context import CliContext
from integration_platform.lifecycle.cli_output import err, out, print_json, styled
from integration_platform.lifecycle.errors import ExitCode
from integration_platform.lifecycle.results import DeployResult
from integration_platform.lifecycle.service import InstanceService


@app.command()
def rotate(
    ctx: typer.Context,
    instance: Annotated[str | None, typer.Argument(help="Instance id")] = None,
    all_instances: Annotated[bool, typer.Option("--all", help="Every deployed instance")] = False,
    overlap_seconds: Annotated[
        int | None,
        typer.Option(help="How long old secrets still verify (default: the relay's setting)"),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for each Initialization")
    ] = None,
) -> None:
    """Rotate the webhook secrets of INSTANCE (or --all): the relay issues new ones, the old
    ones verify during the overlap, Initialization gives Acme the new ones."""
    state: CliContext = ctx.obj
    state.with_run_timeout(timeout)
    if (instance is None) == (not all_instances):
        err.print(styled("error:", "red", " give exactly one of INSTANCE or --all"))
        raise typer.Exit(ExitCode.BAD_INPUT)

    def action(service: InstanceService) -> list[DeployResult]:
        ids = [instance] if instance else [i.id for i in service.list_instances()]
        results = []
        for instance_id in ids:
            service.get_instance(instance_id)
            with state.progress(f"Rotating {instance_id}") as report:
                results.append(
                    service.rotate(instance_id, overlap_seconds=overlap_seconds, progress=report)
                )
        return results

    results: list[DeployResult] = state.run(action)
    if state.as_json:
        print_json(results)
    else:
        for result in results:
            colour = "green" if result.ok else "red"
            out.print(styled(f"{result.instance.id}: {result.message}", colour))
    raise typer.Exit(ExitCode.OK if all(r.ok for r in results) else ExitCode.FAILED)
