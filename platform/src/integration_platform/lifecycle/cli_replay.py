"""`integrations replay`: the command and how it prints a replay (matched runs, new runs)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from integration_platform.lifecycle.cli import app
from integration_platform.lifecycle.cli_context import CliContext
from integration_platform.lifecycle.cli_output import out, print_json
from integration_platform.lifecycle.replay import ReplayReport
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.since import parse_since

InstanceArg = Annotated[str, typer.Argument(help="Instance id")]
FlowOption = Annotated[
    str | None, typer.Option(help="Only this flow (default: every webhook and scheduled flow)")
]
StateOption = Annotated[str, typer.Option(help="Runs in this state: failed or success")]


def _time_bound(side: str) -> Any:
    return Annotated[
        str | None, typer.Option(help=f"Only runs {side} this time: ISO timestamp or 30m / 6h / 2d")
    ]


def _event_filter(what: str) -> Any:
    return Annotated[
        str | None, typer.Option(help=f"Webhook flows: only runs with an event {what}")
    ]


Since = _time_bound("after")
Until = _time_bound("before")
EventType = _event_filter("of this type")
ObjectId = _event_filter("for this object")
ModeOption = Annotated[
    str,
    typer.Option(
        help="tasks: clear the runs (failed runs re-run their failed tasks); events: send "
        "their original events again as new replay__ runs (webhook flows); quarantined: "
        "send again only the events they set aside (webhook flows, once the cause is fixed)"
    ),
]
BatchSize = Annotated[int, typer.Option(help="--mode events / quarantined: events per new run")]
MaxRuns = Annotated[int, typer.Option(help="Refuse when more runs than this match")]
Wait = Annotated[bool, typer.Option("--wait", help="Wait for each re-run to finish")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="List what would be re-run")]
Timeout = Annotated[float | None, typer.Option(help="Seconds to wait per run")]


@app.command()
def replay(
    ctx: typer.Context,
    instance: InstanceArg,
    flow: FlowOption = None,
    state: StateOption = "failed",
    since: Since = None,
    until: Until = None,
    event_type: EventType = None,
    object_id: ObjectId = None,
    mode: ModeOption = "tasks",
    batch_size: BatchSize = 100,
    max_runs: MaxRuns = 500,
    wait: Wait = False,
    dry_run: DryRun = False,
    timeout: Timeout = None,
) -> None:
    """Re-run INSTANCE's runs that match the filters: clear them in Airflow, or re-send their
    events as new runs linked (conf `replay_of`, run note) to the runs they replay."""
    app_state: CliContext = ctx.obj
    app_state.with_run_timeout(timeout)

    def action(service: InstanceService) -> ReplayReport:
        service.get_instance(instance)
        with app_state.progress(f"Replaying {instance}") as report:
            return service.replay(
                instance,
                flow=flow,
                state=state,
                since=parse_since(since, "since") if since else None,
                until=parse_since(until, "until") if until else None,
                event_type=event_type,
                object_id=object_id,
                mode=mode,
                batch_size=batch_size,
                max_runs=max_runs,
                wait=wait,
                dry_run=dry_run,
                progress=report,
            )

    result: ReplayReport = app_state.run(action)
    if app_state.as_json:
        print_json(result)
        return
    print_replay(result, state)


def print_replay(result: ReplayReport, state: str) -> None:
    verb = "Would re-run" if result.dry_run else "Re-ran"
    if not result.items:
        out.print(f"No {state} runs match.")
    for item in result.items:
        what = (
            f"{len(item.events)} event(s)"
            if result.mode != "tasks"
            else ", ".join(item.tasks) or "no tasks"
        )
        out.print(f"{verb} {item.dag_id} {item.run_id} ({item.state}): {what}", highlight=False)
    verb = "Would trigger" if result.dry_run else "Triggered"
    for run in result.new_runs:
        states = f" [{run.state}]" if run.state and not result.dry_run else ""
        out.print(
            f"{verb} {run.dag_id} {run.run_id}{states}: {run.events} event(s) from "
            f"{', '.join(run.replays)}",
            highlight=False,
            soft_wrap=True,
        )
