"""`integrations bulk-deploy`: deploy or redeploy every instance of a directory of request
files, a few at a time, with progress while it runs and a summary at the end."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from integration_platform.lifecycle.bulk import (
    MAX_CONCURRENCY,
    BulkItem,
    BulkReport,
    deploy_many,
    requests_in,
)
from integration_platform.lifecycle.cli import app
from integration_platform.lifecycle.cli_context import CliContext
from integration_platform.lifecycle.cli_output import err, out, print_json
from integration_platform.lifecycle.settings import BULK_CONCURRENCY_ENV

COLOURS = {"deployed": "green", "unchanged": "cyan", "failed": "red", "invalid": "red"}


def _line(item: BulkItem) -> Text:
    """One instance's outcome, as printed the moment it is known."""
    text = Text.assemble((f"{item.instance}: {item.outcome}", COLOURS[item.outcome]))
    if item.outcome == "invalid":
        text.append(f" ({item.source})")
        for error in item.errors:
            text.append(f"\n  - {error.field}: {error.reason}")
    elif item.message:
        text.append(f" - {item.message}")
    return text


class _Display:
    """Progress on stderr: a bar under the outcome lines on a terminal, the lines alone
    elsewhere. Called from the deploy threads, hence the lock."""

    def __init__(self, total: int, *, bar: bool) -> None:
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        if bar:
            columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
            self._bar = Progress(*columns, MofNCompleteColumn(), console=err, transient=True)
            self._task = self._bar.add_task("Deploying", total=total)

    def step(self, instance: str, line: str) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(self._task, description=f"{instance}: {line}"[:70])

    def done(self, item: BulkItem) -> None:
        with self._lock:
            err.print(_line(item), highlight=False, soft_wrap=True)
            if self._bar is not None:
                self._bar.advance(self._task)

    @contextmanager
    def shown(self) -> Iterator[_Display]:
        if self._bar is None:
            yield self
            return
        with self._bar:
            yield self


def print_summary(report: BulkReport) -> None:
    table = Table("instance", "outcome", "request file", "detail")
    for item in report.items:
        detail = (
            "\n".join(f"{e.field}: {e.reason}" for e in item.errors)
            if item.errors
            else item.message
        )
        outcome = Text(item.outcome, style=COLOURS[item.outcome])
        table.add_row(item.instance, outcome, item.source, detail)
    out.print(table)
    counts = report.counts
    out.print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()), highlight=False)


@app.command("bulk-deploy")
def bulk_deploy(
    ctx: typer.Context,
    directory: Annotated[
        Path,
        typer.Argument(help="Directory of request files, one per instance: INSTANCE.yaml"),
    ],
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_CONCURRENCY,
            help=f"Deploys at once [env {BULK_CONCURRENCY_ENV}, default 4]",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run Initialization even where nothing changed")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for each Initialization")
    ] = None,
) -> None:
    """Deploy or redeploy every instance of DIRECTORY (`shop-1.yaml` deploys `shop-1`), at
    most --concurrency at a time, then print a summary. An invalid file is reported with its
    fields and not deployed; the others still are. Exit code 1 if a deploy failed, else 2 if
    a file was invalid."""
    state: CliContext = ctx.obj
    state.with_run_timeout(timeout)
    workers = concurrency or state.settings.bulk_concurrency

    def action(_service: object) -> BulkReport:
        requests = requests_in(directory)
        display = _Display(len(requests), bar=err.is_terminal and not state.as_json)
        with display.shown():
            return deploy_many(
                state.new_service,
                requests,
                concurrency=workers,
                force=force,
                progress=display.step,
                done=display.done,
            )

    report: BulkReport = state.run(action)
    if state.as_json:
        print_json({"counts": report.counts, "ok": report.ok, "items": report.items})
    else:
        print_summary(report)
    raise typer.Exit(int(report.exit_code))
