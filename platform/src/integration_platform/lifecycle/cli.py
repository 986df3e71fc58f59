"""`integrations`: deploy, inspect, test and remove instances of any registered integration.

A thin shell over `service.InstanceService`: parse flags, show progress, print results
(rich tables by default, `--json` for scripts), map errors to exit codes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Column, Table

from integration_platform.integrations.model import Integration
from integration_platform.lifecycle.errors import ExitCode, InvalidRequest, LifecycleError
from integration_platform.lifecycle.interactive import walk_wizard
from integration_platform.lifecycle.request import load_request_file
from integration_platform.lifecycle.samples import load_payload_file
from integration_platform.lifecycle.service import (
    DeployResult,
    FlowTestResult,
    InstanceReport,
    InstanceService,
    RemoveResult,
    RunOutcome,
    parse_since,
)
from integration_platform.lifecycle.settings import (
    AIRFLOW_PASSWORD_ENV,
    AIRFLOW_URL_ENV,
    AIRFLOW_USERNAME_ENV,
    LifecycleSettings,
)

EXIT_CODES_HELP = (
    "Exit codes: 0 success (or nothing to do); 1 the operation ran and failed "
    "(initialization, teardown, a test run, a timeout); 2 bad input, nothing changed "
    "(invalid config, unknown instance or flow); 3 Airflow unreachable or credentials rejected."
)

INTEGRATION_ENV = "INTEGRATION_SLUG"

app = typer.Typer(
    name="integrations",
    help="Deploy and manage integration instances on Airflow (REST API v2).\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

out = Console()
err = Console(stderr=True)


@dataclasses.dataclass
class _Context:
    """Per-invocation state (typer's `ctx.obj`): settings, output mode, the lazy service."""

    settings: LifecycleSettings
    as_json: bool
    integration: str | None = None
    _service: InstanceService | None = None

    @property
    def service(self) -> InstanceService:
        if self._service is None:
            try:
                self._service = InstanceService(self.settings, integration=self.integration)
            except KeyError as error:
                err.print(f"[red]error:[/red] {error.args[0]}", highlight=False)
                raise typer.Exit(ExitCode.BAD_INPUT) from None
        return self._service

    def with_run_timeout(self, timeout: float | None) -> None:
        if timeout is not None:
            self.settings = dataclasses.replace(self.settings, run_timeout=timeout)

    def run(self, action: Callable[[InstanceService], Any]) -> Any:
        """Call the service; a `LifecycleError` becomes a message and its exit code."""
        try:
            return action(self.service)
        except LifecycleError as error:
            raise self.fail(error) from None
        finally:
            if self._service is not None:
                self._service.close()

    @contextmanager
    def progress(self, message: str) -> Iterator[Callable[[str], None]]:
        """Progress lines on stderr (never stdout), under a spinner on a terminal."""
        if self.as_json or not err.is_terminal:
            yield lambda line: err.print(f"  {line}", highlight=False)
            return
        with err.status(message) as status:

            def report(line: str) -> None:
                err.print(f"  {line}", highlight=False)
                status.update(line)

            yield report

    def fail(self, error: LifecycleError) -> typer.Exit:
        if self.as_json:
            payload = {
                "error": type(error).__name__,
                "message": str(error),
                "exit_code": int(error.exit_code),
            }
            if isinstance(error, InvalidRequest):
                payload["fields"] = [{"field": e.field, "reason": e.reason} for e in error.errors]
            _print_json(payload)
        elif isinstance(error, InvalidRequest) and len(error.errors) > 1:
            err.print(f"[red]error:[/red] {error.source}:", highlight=False)
            for item in error.errors:
                err.print(f"  - {item.field}: {item.reason}", highlight=False, soft_wrap=True)
        else:
            err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        return typer.Exit(int(error.exit_code))


@app.callback()
def _main(
    ctx: typer.Context,
    airflow_url: Annotated[
        str | None, typer.Option(help=f"Airflow base URL [env {AIRFLOW_URL_ENV}]")
    ] = None,
    airflow_username: Annotated[
        str | None,
        typer.Option(help=f"Airflow user (role op or admin) [env {AIRFLOW_USERNAME_ENV}]"),
    ] = None,
    airflow_password: Annotated[
        str | None,
        typer.Option(
            help=f"Airflow password; prefer the env var [env {AIRFLOW_PASSWORD_ENV}]",
            show_default=False,
        ),
    ] = None,
    instances_dir: Annotated[
        Path | None,
        typer.Option(
            help="Instances directory (env INTEGRATION_INSTANCES_DIR, default dags/instances)"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables")
    ] = False,
    integration: Annotated[
        str | None,
        typer.Option(
            envvar=INTEGRATION_ENV,
            help="Integration slug (default: the only one installed)",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    settings = LifecycleSettings.from_env(
        airflow_url=airflow_url,
        airflow_username=airflow_username,
        airflow_password=airflow_password,
        instances_dir=instances_dir,
    )
    ctx.obj = _Context(settings=settings, as_json=as_json, integration=integration)


# -- output helpers ----------------------------------------------------------------------------


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


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(value), indent=2) + "\n")


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}s"


def _print_tasks(run: RunOutcome) -> None:
    colour = "green" if run.succeeded else "red"
    out.print(f"{run.dag_id}: run {run.run_id} [{colour}]{run.state}[/{colour}]", highlight=False)
    table = Table("task", "state", "duration")
    for task in run.tasks:
        style = {"success": "green", "failed": "red", "upstream_failed": "red"}.get(
            task.state or "", "yellow"
        )
        table.add_row(task.task_id, f"[{style}]{task.state}[/{style}]", _duration(task.duration))
    out.print(table)
    out.print(f"run: {run.url}", highlight=False, soft_wrap=True)
    for task in run.tasks:
        if task.state in ("failed", "upstream_failed"):
            out.print(f"log of {task.task_id}: {task.log_url}", highlight=False, soft_wrap=True)


def _print_webhooks(urls: Mapping[str, str]) -> None:
    for flow, url in urls.items():
        out.print(f"  {flow}: {url}", highlight=False, soft_wrap=True)


# -- commands ----------------------------------------------------------------------------------


class _TerminalPrompter:
    def heading(self, title: str, description: str) -> None:
        err.rule(title)
        if description:
            err.print(description, highlight=False)

    def text(self, label: str, *, default: str | None, secret: bool, help: str) -> str:
        if help:
            err.print(f"[dim]{help}[/dim]", highlight=False)
        value = typer.prompt(
            label,
            default=default if default is not None else ("" if secret else None),
            hide_input=secret,
            show_default=not secret,
        )
        return str(value)

    def confirm(self, label: str, *, default: bool, help: str) -> bool:
        if help:
            err.print(f"[dim]{help}[/dim]", highlight=False)
        return typer.confirm(label, default=default)


def _interactive_request(service: InstanceService, instance: str) -> Any:
    existing = service.find_instance(instance)

    def hosts(key: str) -> dict[str, str]:
        conn_id = existing.connections.get(key) if existing else None
        conn = service.airflow.get_connection(conn_id) if conn_id else None
        return {"host": conn.get("host") or ""} if conn else {}

    integration: Integration = service.integration
    return walk_wizard(integration, _TerminalPrompter(), existing=existing, existing_hosts=hosts)


@app.command()
def deploy(
    ctx: typer.Context,
    instance: Annotated[str, typer.Argument(help="Instance id, e.g. shop-1")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Deploy request file (YAML): customer, config, connections"
        ),
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", "-i", help="Prompt for every variable of the config wizard"),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for Initialization")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Run Initialization even if nothing changed (re-applies webhooks)"
        ),
    ] = False,
) -> None:
    """Deploy or redeploy INSTANCE: validate, write connections and the instance file, run
    Initialization and print each flow's webhook URL. Unchanged config: nothing to do,
    unless --force."""
    state: _Context = ctx.obj
    state.with_run_timeout(timeout)
    if (config is None) == (not interactive):
        err.print("[red]error:[/red] give exactly one of --config FILE or --interactive")
        raise typer.Exit(ExitCode.BAD_INPUT)

    def action(service: InstanceService) -> DeployResult:
        request = load_request_file(config) if config else _interactive_request(service, instance)
        service.validate(instance, request)
        with state.progress(f"Deploying {instance}") as report:
            return service.deploy(instance, request, progress=report, force=force)

    result: DeployResult = state.run(action)
    if state.as_json:
        _print_json(result)
    elif result.outcome == "failed":
        err.print(f"[red]{instance} failed:[/red] {result.instance.status.reason}", highlight=False)
        if result.instance.status.log_url:
            err.print(
                f"  task log: {result.instance.status.log_url}", highlight=False, soft_wrap=True
            )
        err.print(f"  fix the cause and run `{_prog(ctx)} deploy {instance}` again to retry")
    else:
        colour = "green" if result.outcome == "deployed" else "cyan"
        out.print(f"[{colour}]{result.message}[/{colour}]", highlight=False)
        out.print("Webhook URLs:")
        _print_webhooks(result.webhook_urls)
    raise typer.Exit(ExitCode.OK if result.ok else ExitCode.FAILED)


@app.command()
def remove(
    ctx: typer.Context,
    instance: Annotated[str, typer.Argument(help="Instance id")],
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for Teardown")] = None,
) -> None:
    """Run Teardown for INSTANCE, then delete its instance file and connections. If Teardown
    fails, nothing is deleted and the instance is marked failed."""
    state: _Context = ctx.obj
    state.with_run_timeout(timeout)

    def action(service: InstanceService) -> RemoveResult:
        service.get_instance(instance)
        with state.progress(f"Removing {instance}") as report:
            return service.remove(instance, progress=report)

    result: RemoveResult = state.run(action)
    if state.as_json:
        _print_json(result)
    elif result.removed:
        out.print(
            f"[green]{instance} removed[/green]; deleted connections: {', '.join(result.deleted_connections) or 'none'}"
        )
        out.print(
            f"discarded: {result.discarded_events} held relay event(s), "
            f"{result.cleared_runs} queued run(s) cleared, "
            f"{result.failed_runs} running run(s) marked failed"
        )
    else:
        err.print(f"[red]{instance} not removed:[/red] {result.reason}", highlight=False)
        if result.log_url:
            err.print(f"  task log: {result.log_url}", highlight=False, soft_wrap=True)
    raise typer.Exit(ExitCode.OK if result.removed else ExitCode.FAILED)


@app.command("list")
def list_instances(ctx: typer.Context) -> None:
    """List deployed instances with their state and generation (reads the instance files)."""
    state: _Context = ctx.obj

    def action(service: InstanceService) -> tuple[list[Any], list[Any]]:
        return service.list_instances(), service.broken_instance_files()

    instances, broken = state.run(action)
    if state.as_json:
        _print_json({"instances": instances, "broken_files": [str(e) for e in broken]})
        return
    table = Table("instance", "customer", "state", "generation", "reason")
    for item in instances:
        table.add_row(
            item.id, item.customer, str(item.state), str(item.generation), item.status.reason or ""
        )
    out.print(table if instances else "No instances deployed.")
    for error in broken:
        err.print(f"[red]broken instance file:[/red] {error}", highlight=False)


@app.command()
def status(
    ctx: typer.Context,
    instance: Annotated[str, typer.Argument(help="Instance id")],
    recent: Annotated[int, typer.Option(help="Recent runs to show per flow")] = 5,
) -> None:
    """Show INSTANCE: state, flows, DAG ids, webhook URLs, paused or not, recent runs."""
    state: _Context = ctx.obj
    report: InstanceReport = state.run(lambda service: service.status(instance, recent=recent))
    if state.as_json:
        _print_json(report)
        return
    _print_report(report)


def _print_report(report: InstanceReport) -> None:
    item = report.instance
    out.print(
        f"[bold]{item.id}[/bold] ({item.customer}) state [bold]{item.state}[/bold], "
        f"generation {item.generation}" + (" — paused" if report.paused else ""),
        highlight=False,
    )
    if item.status.reason:
        out.print(f"  reason: {item.status.reason}", highlight=False)
    if item.status.log_url:
        out.print(f"  log: {item.status.log_url}", highlight=False, soft_wrap=True)
    for flow in report.flows:
        paused = "not in Airflow" if not flow.exists else ("paused" if flow.paused else "active")
        out.print(
            f"\n[bold]{flow.name}[/bold] ({flow.trigger}) {flow.dag_id} — {paused}", highlight=False
        )
        if flow.webhook_url:
            out.print(f"  webhook: {flow.webhook_url}", highlight=False, soft_wrap=True)
        if flow.held_events is not None:
            out.print(f"  held in the relay: {flow.held_events} event(s)", highlight=False)
        if flow.recent_runs:
            table = Table("state", "type", "started", "duration", Column("run", overflow="fold"))
            for run in flow.recent_runs:
                started = run.start_date.strftime("%Y-%m-%d %H:%M:%S") if run.start_date else "-"
                table.add_row(run.state, run.run_type, started, _duration(run.duration), run.run_id)
            out.print(table)


@app.command()
def pause(ctx: typer.Context, instance: Annotated[str, typer.Argument(help="Instance id")]) -> None:
    """Pause INSTANCE: its relay routes hold the events (no DAG run is created), its DAGs
    are paused."""
    state: _Context = ctx.obj
    report: InstanceReport = state.run(lambda service: service.pause(instance))
    if state.as_json:
        _print_json(report)
    else:
        out.print(
            f"{instance} paused: the relay keeps accepting and holds the events; they run "
            f"after `{_prog(ctx)} resume {instance}`"
        )


@app.command()
def resume(
    ctx: typer.Context, instance: Annotated[str, typer.Argument(help="Instance id")]
) -> None:
    """Unpause INSTANCE's DAGs and relay routes; held events are delivered in batches."""
    state: _Context = ctx.obj
    report: InstanceReport = state.run(lambda service: service.resume(instance))
    if state.as_json:
        _print_json(report)
    else:
        out.print(f"{instance} resumed")


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
    state: _Context = ctx.obj
    state.with_run_timeout(timeout)
    if (instance is None) == (not all_instances):
        err.print("[red]error:[/red] give exactly one of INSTANCE or --all")
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
        _print_json(results)
    for result in results:
        if not state.as_json:
            colour = "green" if result.ok else "red"
            out.print(
                f"[{colour}]{result.instance.id}: {result.message}[/{colour}]", highlight=False
            )
    raise typer.Exit(ExitCode.OK if all(r.ok for r in results) else ExitCode.FAILED)


@app.command("test-flow")
def run_flow_test(
    ctx: typer.Context,
    instance: Annotated[str, typer.Argument(help="Instance id")],
    flow: Annotated[str, typer.Argument(help="Flow slug, e.g. sync-customer-data")],
    payload: Annotated[
        Path | None, typer.Option(help="Run conf file (JSON/YAML); default: sample thin events")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for the run")] = None,
) -> None:
    """Run just FLOW of INSTANCE now (with sample events for webhook flows) and show the
    task outcomes: the tutorial's "Save & Run Test"."""
    state: _Context = ctx.obj
    state.with_run_timeout(timeout)

    def action(service: InstanceService) -> FlowTestResult:
        service.get_instance(instance)
        selected = service.flow(flow)
        conf = load_payload_file(selected, payload) if payload else None
        with state.progress(f"Testing {flow} of {instance}") as report:
            return service.test_flow(
                instance, flow, payload=conf, payload_source=str(payload), progress=report
            )

    result: FlowTestResult = state.run(action)
    if state.as_json:
        _print_json(result)
    else:
        _print_tasks(result.run)
    raise typer.Exit(ExitCode.OK if result.run.succeeded else ExitCode.FAILED)


@app.command()
def replay(
    ctx: typer.Context,
    instance: Annotated[str, typer.Argument(help="Instance id")],
    flow: Annotated[
        str | None, typer.Option(help="Only this flow (default: every webhook flow)")
    ] = None,
    state: Annotated[str, typer.Option(help="Runs in this state: failed or success")] = "failed",
    since: Annotated[
        str | None, typer.Option(help="Only runs after this time: ISO timestamp or 30m / 6h / 2d")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be re-run")] = False,
) -> None:
    """Re-run INSTANCE's runs that match the filters by clearing them in Airflow (failed
    runs re-run only their failed tasks)."""
    state: _Context = ctx.obj

    def action(service: InstanceService) -> list[Any]:
        service.get_instance(instance)
        since_at = parse_since(since) if since else None
        with state.progress(f"Replaying {instance}") as report:
            return service.replay(
                instance, flow=flow, state=state, since=since_at, dry_run=dry_run, progress=report
            )

    items = state.run(action)
    if state.as_json:
        _print_json({"dry_run": dry_run, "runs": items})
        return
    verb = "Would re-run" if dry_run else "Re-running"
    if not items:
        out.print(f"No {state} runs match.")
    for item in items:
        out.print(
            f"{verb} {item.dag_id} {item.run_id} ({item.state}): {', '.join(item.tasks) or 'no tasks'}",
            highlight=False,
        )


def _prog(ctx: typer.Context) -> str:
    return ctx.find_root().info_name or "integrations"


def main(*, integration: str | None = None, prog_name: str | None = None) -> None:
    """The console script; an integration's own script presets its slug."""
    app(prog_name=prog_name, default_map={"integration": integration} if integration else None)
