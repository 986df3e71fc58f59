"""How `integrations replay` prints a replay: matched runs, then the new runs it made."""

from __future__ import annotations

from integration_platform.lifecycle.cli_output import out
from integration_platform.lifecycle.replay import ReplayReport


def print_replay(result: ReplayReport, state: str) -> None:
    verb = "Would re-run" if result.dry_run else "Re-ran"
    if not result.items:
        out.print(f"No {state} runs match.")
    for item in result.items:
        what = (
            f"{len(item.events)} event(s)"
            if result.mode == "events"
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
