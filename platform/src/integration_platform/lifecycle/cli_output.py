"""How the `integrations` CLI shows things: rich tables and lines, `--json` documents, and
the terminal prompts of `deploy --interactive`. Results on stdout, progress on stderr."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from integration_platform.integrations.sampling import sample_size
from integration_platform.lifecycle.drift_status import drift_lines
from integration_platform.lifecycle.service import FlowTestResult, InstanceReport, RunOutcome

# Markup off: user input and messages (`[/x]`, `^[a-z]...$`) print as given; styles are
# applied with `Text` objects only.
out = Console(markup=False)
err = Console(stderr=True, markup=False)


def styled(label: str, style: str, rest: str = "") -> Text:
    """`label` in `style`, then `rest` as plain text (never read as markup)."""
    return Text.assemble((label, style), rest)


def jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models, enums and datetimes as plain JSON values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("ok", "succeeded", "paused"):
            if hasattr(type(value), name) and isinstance(getattr(type(value), name), property):
                data[name] = getattr(value, name)
        return data
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), indent=2) + "\n")


def duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def print_tasks(run: RunOutcome) -> None:
    colour = "green" if run.succeeded else "red"
    out.print(
        Text.assemble(f"{run.dag_id}: run {run.run_id} ", (run.state, colour)), highlight=False
    )
    table = Table("task", "state", "duration")
    for task in run.tasks:
        style = {"success": "green", "failed": "red", "upstream_failed": "red"}.get(
            task.state or "", "yellow"
        )
        table.add_row(task.task_id, Text(str(task.state), style=style), duration(task.duration))
    out.print(table)
    out.print(f"run: {run.url}", highlight=False, soft_wrap=True)
    for task in run.tasks:
        if task.state in ("failed", "upstream_failed"):
            out.print(f"log of {task.task_id}: {task.log_url}", highlight=False, soft_wrap=True)


def print_webhooks(urls: Mapping[str, str]) -> None:
    for flow, url in urls.items():
        out.print(f"  {flow}: {url}", highlight=False, soft_wrap=True)


class TerminalPrompter:
    def heading(self, title: str, description: str) -> None:
        err.rule(title)
        if description:
            err.print(description, highlight=False)

    def text(self, label: str, *, default: str | None, secret: bool, help: str) -> str:
        if help:
            err.print(Text(help, style="dim"), highlight=False)
        value = typer.prompt(
            label,
            default=default if default is not None else ("" if secret else None),
            hide_input=secret,
            show_default=not secret,
        )
        return str(value)

    def confirm(self, label: str, *, default: bool, help: str) -> bool:
        if help:
            err.print(Text(help, style="dim"), highlight=False)
        return typer.confirm(label, default=default)


def print_report(report: InstanceReport) -> None:
    item = report.instance
    out.print(
        Text.assemble(
            (item.id, "bold"),
            f" ({item.customer}) state ",
            (str(item.state), "bold"),
            f", generation {item.generation}" + (" — paused" if report.paused else ""),
        ),
        highlight=False,
    )
    if item.status.reason:
        out.print(f"  reason: {item.status.reason}", highlight=False)
    if item.status.log_url:
        out.print(f"  log: {item.status.log_url}", highlight=False, soft_wrap=True)
    for flow in report.flows:
        paused = "not in Airflow" if not flow.exists else ("paused" if flow.paused else "active")
        out.print(
            Text.assemble("\n", (flow.name, "bold"), f" ({flow.trigger}) {flow.dag_id} — {paused}"),
            highlight=False,
        )
        if flow.webhook_url:
            out.print(f"  webhook: {flow.webhook_url}", highlight=False, soft_wrap=True)
        if flow.held_events is not None:
            out.print(f"  held in the relay: {flow.held_events} event(s)", highlight=False)
        for label, check in drift_lines(flow.drift):
            out.print(f"  {label}: {check}", highlight=False)
        if flow.recent_runs:
            table = Table("state", "type", "started", "duration", Column("run", overflow="fold"))
            for run in flow.recent_runs:
                started = run.start_date.strftime("%Y-%m-%d %H:%M:%S") if run.start_date else "-"
                table.add_row(run.state, run.run_type, started, duration(run.duration), run.run_id)
            out.print(table)


def print_flow_test(result: FlowTestResult) -> None:
    """A test run: its tasks, then what each task counted (fetched, created, ...)."""
    print_tasks(result.run)
    count = sample_size(result.conf) if result.conf else None
    if count is not None:
        out.print(f"events: the source's {count} most recently changed object(s), at most")
    for task_id, counts in result.counts.items():
        out.print(
            Text.assemble(
                (f"{task_id}: ", "bold"), ", ".join(f"{k} {v}" for k, v in counts.items())
            ),
            highlight=False,
            soft_wrap=True,  # one line per task however narrow the terminal: greppable
        )
