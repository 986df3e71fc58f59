"""`integrations`: deploy, inspect, test and remove instances of any registered integration.

A thin shell over `service.InstanceService`: parse flags, show progress, print results
(rich tables by default, `--json` for scripts), map errors to exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from integration_platform.integrations.model import Integration
from integration_platform.lifecycle.cli_context import CliContext as _Context
from integration_platform.lifecycle.cli_context import airflow_password
from integration_platform.lifecycle.cli_output import (
    TerminalPrompter,
    err,
    out,
    print_flow_test,
    print_json,
    print_report,
    print_webhooks,
    styled,
)
from integration_platform.lifecycle.errors import ExitCode, InvalidRequest
from integration_platform.lifecycle.interactive import walk_wizard
from integration_platform.lifecycle.request import load_request_file
from integration_platform.lifecycle.samples import load_payload_file
from integration_platform.lifecycle.service import (
    DeployResult,
    FlowTestResult,
    InstanceReport,
    InstanceService,
    RemoveResult,
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
    "(invalid config, unknown instance or flow); 3 Airflow unreachable or credentials rejected; "
    "4 another deploy or remove of the same instance is running, nothing changed."
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
    airflow_password_file: Annotated[
        Path | None,
        typer.Option(
            help=f"File holding the Airflow password (else env {AIRFLOW_PASSWORD_ENV}); "
            "never given as an argument, which any local user could read in `ps`",
            show_default=False,
        ),
    ] = None,
    ask_airflow_password: Annotated[
        bool, typer.Option(help="Prompt for the Airflow password (hidden input)")
    ] = False,
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
    password = airflow_password(airflow_password_file, ask_airflow_password)
    try:
        settings = LifecycleSettings.from_env(
            airflow_url=airflow_url,
            airflow_username=airflow_username,
            airflow_password=password,
            instances_dir=instances_dir,
        )
    except InvalidRequest as error:  # a setting from the environment
        err.print(styled("error:", "red", f" {error}"), highlight=False)
        raise typer.Exit(int(error.exit_code)) from None
    ctx.obj = _Context(settings=settings, as_json=as_json, integration=integration)


# -- commands ----------------------------------------------------------------------------------


def _interactive_request(service: InstanceService, instance: str) -> Any:
    existing = service.find_instance(instance)

    def hosts(key: str) -> dict[str, str]:
        conn_id = existing.connections.get(key) if existing else None
        conn = service.airflow.get_connection(conn_id) if conn_id else None
        return {"host": conn.get("host") or ""} if conn else {}

    integration: Integration = service.integration
    return walk_wizard(integration, TerminalPrompter(), existing=existing, existing_hosts=hosts)


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
        err.print(styled("error:", "red", " give exactly one of --config FILE or --interactive"))
        raise typer.Exit(ExitCode.BAD_INPUT)

    def action(service: InstanceService) -> DeployResult:
        request = load_request_file(config) if config else _interactive_request(service, instance)
        service.validate(instance, request)
        with state.progress(f"Deploying {instance}") as report:
            return service.deploy(instance, request, progress=report, force=force)

    result: DeployResult = state.run(action)
    if state.as_json:
        print_json(result)
    elif result.outcome == "failed":
        err.print(
            styled(f"{instance} failed:", "red", f" {result.instance.status.reason}"),
            highlight=False,
        )
        if result.instance.status.log_url:
            err.print(
                f"  task log: {result.instance.status.log_url}", highlight=False, soft_wrap=True
            )
        err.print(f"  fix the cause and run `{_prog(ctx)} deploy {instance}` again to retry")
    else:
        colour = "green" if result.outcome == "deployed" else "cyan"
        out.print(Text(result.message, style=colour), highlight=False)
        out.print("Webhook URLs:")
        print_webhooks(result.webhook_urls)
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
        print_json(result)
    elif result.removed:
        deleted = ", ".join(result.deleted_connections) or "none"
        out.print(styled(f"{instance} removed", "green", f"; deleted connections: {deleted}"))
        out.print(
            f"discarded: {result.discarded_events} held relay event(s), "
            f"{result.cleared_runs} queued run(s) cleared, "
            f"{result.failed_runs} running run(s) marked failed",
            highlight=False,
        )
    else:
        err.print(styled(f"{instance} not removed:", "red", f" {result.reason}"), highlight=False)
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
        print_json({"instances": instances, "broken_files": [str(e) for e in broken]})
        return
    table = Table("instance", "customer", "state", "generation", "reason")
    for item in instances:
        table.add_row(
            item.id, item.customer, str(item.state), str(item.generation), item.status.reason or ""
        )
    out.print(table if instances else "No instances deployed.")
    for error in broken:
        err.print(styled("broken instance file:", "red", f" {error}"), highlight=False)


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
        print_json(report)
        return
    print_report(report)


@app.command()
def pause(ctx: typer.Context, instance: Annotated[str, typer.Argument(help="Instance id")]) -> None:
    """Pause INSTANCE: its relay routes hold the events (no DAG run is created), its DAGs
    are paused."""
    state: _Context = ctx.obj
    report: InstanceReport = state.run(lambda service: service.pause(instance))
    if state.as_json:
        print_json(report)
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
        print_json(report)
    else:
        out.print(f"{instance} resumed")


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
    """Run just FLOW of INSTANCE now and show its tasks and counts: the tutorial's "Save &
    Run Test". Webhook flows run on the source's latest changes unless --payload is given."""
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
        print_json(result)
    else:
        print_flow_test(result)
    raise typer.Exit(ExitCode.OK if result.run.succeeded else ExitCode.FAILED)


def _prog(ctx: typer.Context) -> str:
    return ctx.find_root().info_name or "integrations"


def main(*, integration: str | None = None, prog_name: str | None = None) -> None:
    """The console script; an integration's own script presets its slug."""
    app(prog_name=prog_name, default_map={"integration": integration} if integration else None)


# Commands defined in their own modules register on `app` when imported.
from integration_platform.lifecycle import cli_bulk, cli_replay, cli_rotate  # noqa: E402,F401
