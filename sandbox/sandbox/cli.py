"""The `sandbox` command: run the Acme ERP and Progix simulators, the load generator, the stack."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from sandbox.acme.schemas import MAX_BATCH_CHANGES
from sandbox.common.auth import ACME_ACCOUNTS_ENV, PROGIX_TENANTS_ENV, Credential, KeyRegistry
from sandbox.common.body_limit import DEFAULT_MAX_BODY_BYTES
from sandbox.stack.demo_command import demo

app = typer.Typer(
    help="Local simulators of Acme ERP and Progix, and tools around them.",
    no_args_is_help=True,
    add_completion=False,
)

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Db = Annotated[
    Path | None, typer.Option(help="SQLite file to keep data in (default: a temporary one).")
]
LatencyMs = Annotated[int, typer.Option(min=0, help="Latency added to every /v1 request (ms).")]
ErrorRate = Annotated[
    float, typer.Option(min=0.0, max=1.0, help="Probability of an injected 5xx per /v1 request.")
]
RateLimit = Annotated[
    float | None,
    typer.Option(min=0.001, help="Requests per second per API key; beyond it 429 + Retry-After."),
]
RateBurst = Annotated[
    int | None, typer.Option(min=1, help="Burst size of the rate limit (default: the rate).")
]
MaxBody = Annotated[int, typer.Option(min=1024, help="Largest request body accepted (bytes).")]
AccessLog = Annotated[bool, typer.Option(help="Log every request.")]


def _registry(env_name: str, path: Path | None, option: str) -> KeyRegistry:
    """Credentials from a file (one ID:API_KEY a line) or the environment (comma-separated),
    never from arguments: any local user can read a process's arguments in `ps`."""
    if path is not None:
        try:
            values = path.read_text(encoding="utf-8").split()
        except OSError as exc:
            raise typer.BadParameter(f"{path}: {exc.strerror}", param_hint=option) from exc
    else:
        values = [v for v in os.environ.get(env_name, "").replace(",", " ").split() if v]
    if not values:
        raise typer.BadParameter(
            f"give ID:API_KEY pairs in {option} FILE or ${env_name}", param_hint=option
        )
    try:
        return KeyRegistry(Credential.parse(v) for v in values)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


Port = Annotated[int, typer.Option(help="TCP port.")]
AccountsFile = Annotated[
    Path | None,
    typer.Option(
        help=f"File of ACCOUNT_ID:API_KEY lines (default: ${ACME_ACCOUNTS_ENV}, comma-separated).",
        show_default=False,
    ),
]
TenantsFile = Annotated[
    Path | None,
    typer.Option(
        help=f"File of TENANT_ID:API_KEY lines (default: ${PROGIX_TENANTS_ENV}, comma-separated).",
        show_default=False,
    ),
]
DuplicateRate = Annotated[
    float, typer.Option(min=0.0, max=1.0, help="Probability a delivered event is resent.")
]
ReorderWindow = Annotated[
    int, typer.Option(min=0, help="Hold this many due deliveries and send them shuffled.")
]
ReorderHoldMs = Annotated[
    int, typer.Option(min=0, help="Longest a delivery waits for its reorder window (ms).")
]
DeliveryConcurrency = Annotated[
    int,
    typer.Option(min=1, max=32, help="Deliveries POSTed at once (1 = one at a time, in order)."),
]
RetryBaseSeconds = Annotated[
    float, typer.Option(min=0.01, help="First retry delay; doubles on every failure.")
]
RetryMaxSeconds = Annotated[float, typer.Option(min=0.01, help="Longest retry delay.")]
MaxAttempts = Annotated[int, typer.Option(min=1, help="Attempts before `failed`.")]


def _api_faults(
    latency_ms: int, error_rate: float, rate_limit: float | None, rate_limit_burst: int | None
) -> dict[str, Any]:
    """The faults both simulators inject into their API, as keyword arguments of their model."""
    return {
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "rate_limit_per_second": rate_limit,
        "rate_limit_burst": rate_limit_burst,
    }


@app.command()
def acme(
    port: Port,
    accounts_file: AccountsFile = None,
    host: Host = "127.0.0.1",
    db: Db = None,
    latency_ms: LatencyMs = 0,
    error_rate: ErrorRate = 0.0,
    rate_limit: RateLimit = None,
    rate_limit_burst: RateBurst = None,
    duplicate_rate: DuplicateRate = 0.0,
    reorder_window: ReorderWindow = 0,
    reorder_hold_ms: ReorderHoldMs = 500,
    delivery_concurrency: DeliveryConcurrency = 1,
    retry_base_seconds: RetryBaseSeconds = 1.0,
    retry_max_seconds: RetryMaxSeconds = 300.0,
    max_attempts: MaxAttempts = 10,
    max_body_bytes: MaxBody = DEFAULT_MAX_BODY_BYTES,
    access_log: AccessLog = False,
) -> None:
    """Run the Acme ERP simulator (API docs at /docs)."""
    keys = _registry(ACME_ACCOUNTS_ENV, accounts_file, "--accounts-file")

    from sandbox.acme.app import create_app
    from sandbox.acme.delivery import RetryPolicy
    from sandbox.acme.schemas import AcmeFaults
    from sandbox.serve import serve

    faults = AcmeFaults(
        **_api_faults(latency_ms, error_rate, rate_limit, rate_limit_burst),
        duplicate_rate=duplicate_rate,
        reorder_window=reorder_window,
        reorder_hold_ms=reorder_hold_ms,
        delivery_concurrency=delivery_concurrency,
    )
    retry = RetryPolicy(retry_base_seconds, retry_max_seconds, max_attempts)
    serve(
        lambda path: create_app(
            db_path=path, keys=keys, faults=faults, retry=retry, max_body_bytes=max_body_bytes
        ),
        host=host,
        port=port,
        db=db,
        db_name="acme.sqlite3",
        access_log=access_log,
    )


@app.command()
def progix(
    port: Port,
    tenants_file: TenantsFile = None,
    host: Host = "127.0.0.1",
    db: Db = None,
    latency_ms: LatencyMs = 0,
    error_rate: ErrorRate = 0.0,
    rate_limit: RateLimit = None,
    rate_limit_burst: RateBurst = None,
    max_body_bytes: MaxBody = DEFAULT_MAX_BODY_BYTES,
    access_log: AccessLog = False,
) -> None:
    """Run the Progix API simulator (API docs at /docs)."""
    keys = _registry(PROGIX_TENANTS_ENV, tenants_file, "--tenants-file")

    from sandbox.common.faults import ApiFaults
    from sandbox.progix.app import create_app
    from sandbox.serve import serve

    faults = ApiFaults(**_api_faults(latency_ms, error_rate, rate_limit, rate_limit_burst))
    serve(
        lambda path: create_app(
            db_path=path, keys=keys, faults=faults, max_body_bytes=max_body_bytes
        ),
        host=host,
        port=port,
        db=db,
        db_name="progix.sqlite3",
        access_log=access_log,
    )


@app.command()
def load(
    acme_url: Annotated[str, typer.Option(help="Base URL of the Acme ERP simulator.")],
    api_key: Annotated[
        str, typer.Option(envvar="ACME_API_KEY", help="API key of the account to load.")
    ],
    customers: Annotated[int, typer.Option(min=0, help="Customers to create.")] = 100,
    items: Annotated[int, typer.Option(min=0, help="Inventory items to create.")] = 100,
    updates: Annotated[int, typer.Option(min=0, help="Random updates to apply afterwards.")] = 200,
    rate: Annotated[
        float, typer.Option(min=0.0, help="Most requests per second overall (0 = unpaced).")
    ] = 50.0,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Parallel requests.")] = 4,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable runs.")] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_BATCH_CHANGES,
            help="Changes per request (above 1: Acme's batch endpoints; each is still its own "
            "change and event).",
        ),
    ] = 1,
) -> None:
    """Create customers and items in Acme, then update them at random; print a JSON summary."""
    import json

    from sandbox.load import LoadGenerator, LoadPlan

    plan = LoadPlan(customers, items, updates, rate, concurrency, seed, batch_size)

    def progress(counters: dict[str, int]) -> None:
        typer.echo(
            f"customers {counters['customers_created']}/{customers}  "
            f"items {counters['items_created']}/{items}  "
            f"updates {counters['updates_applied']}/{updates}  "
            f"429s {counters['throttled_429']}  failed {counters['failed']}",
            err=True,
        )

    summary = LoadGenerator(acme_url.rstrip("/"), api_key, plan).run(progress)
    typer.echo(json.dumps(summary))
    if summary["failed"]:
        raise typer.Exit(1)


@app.command()
def up(
    state_dir: Annotated[Path, typer.Option(help="Where the simulators keep data and logs.")],
    acme_port: Annotated[int, typer.Option(help="Acme ERP simulator port.")] = 8701,
    progix_port: Annotated[int, typer.Option(help="Progix simulator port.")] = 8702,
    host: Host = "127.0.0.1",
) -> None:
    """Start both simulators with demo data, print URLs and API keys, stop them on Ctrl-C."""
    import signal
    import sys
    import time

    from sandbox.processes import ProcessFailed
    from sandbox.simulators import PortInUse, start_demo_simulators

    try:
        simulators = start_demo_simulators(
            state_dir.resolve(), acme_port=acme_port, progix_port=progix_port, host=host
        )
    except (PortInUse, ProcessFailed) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    signal.signal(signal.SIGTERM, _interrupt)
    for sim in simulators:
        kind = "account" if sim.name == "Acme ERP" else "tenant"
        typer.echo(f"{sim.name:9} {sim.url}   docs {sim.docs_url}")
        typer.echo(f"{'':9} {kind} {sim.principal_id!r}   API key {sim.api_key}")
    typer.echo(f"Data and logs in {state_dir}. Ctrl-C stops both.")
    sys.stdout.flush()
    try:
        while all(sim.process.is_running() for sim in simulators):
            time.sleep(0.5)
        dead = next(sim for sim in simulators if not sim.process.is_running())
        typer.echo(f"error: {dead.name} exited:\n{dead.process.log_tail()}", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("stopping...")
    finally:
        for sim in simulators:
            sim.process.stop()


def _interrupt(*_: object) -> None:
    """SIGTERM stops `sandbox up` the same way Ctrl-C does."""
    raise KeyboardInterrupt


app.command()(demo)  # the whole system on loopback: see sandbox/stack/demo.py


def main() -> None:
    app()
