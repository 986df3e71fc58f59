"""`sandbox demo`: the whole system on loopback, one demo instance, a stream of changes.

Starts the stack (embedded PostgreSQL, Airflow, relay, both simulators), seeds a demo Acme
account, deploys the `demo-shop` instance through the lifecycle service (the same code path
as `acme-erp deploy`), prints where to look, then drives customer and inventory changes into
Acme and shows, live, how many records Progix holds. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import shlex
import signal
import socket
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sandbox.load import LoadGenerator, LoadPlan
from sandbox.simulators import seed_demo_data
from sandbox.stack.stack import Stack, StackOptions, StackPorts, reset_state_dir

DEMO_INSTANCE = "demo"
DEMO_ACCOUNT = "acme-demo"
DEMO_TENANT = "progix-demo"


class PortBusy(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoOptions:
    state_dir: Path
    ports: StackPorts
    rate: float = 5.0  # changes per second sent to Acme


def check_ports_free(ports: StackPorts) -> None:
    """Fail before starting anything if a demo port is taken, naming the flag to change it."""
    for name, port in (
        ("airflow", ports.airflow),
        ("relay", ports.relay),
        ("acme", ports.acme),
        ("progix", ports.progix),
    ):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the servers will: a listener blocks us, connections of a stopped run do not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise PortBusy(
                    f"port {port} on 127.0.0.1 is in use; pass --{name}-port to pick another"
                ) from None


def deploy_demo_instance(stack: Stack, console: Console) -> dict[str, str]:
    """Deploy `demo-shop` with the lifecycle service; return its webhook URLs."""
    from integration_platform.lifecycle.request import DeployRequest
    from integration_platform.lifecycle.service import InstanceService
    from integration_platform.lifecycle.settings import LifecycleSettings

    settings = LifecycleSettings(
        airflow_url=stack.airflow_url,
        airflow_username="admin",
        airflow_password=stack.airflow_password("admin"),
        instances_dir=stack.instances_dir,
        relay_url=stack.relay_url,
        relay_registrar_token=stack.relay_registrar_token,
    )
    request = DeployRequest(
        customer="Demo Shop",
        config={"progix_tenant": DEMO_TENANT, "backfill_on_deploy": True},
        connections={
            "acme_connection": {"host": stack.acme_url, "password": stack.acme_keys[DEMO_ACCOUNT]},
            "progix_connection": {
                "host": stack.progix_url,
                "password": stack.progix_keys[DEMO_TENANT],
            },
        },
        source="sandbox demo",
    )
    service = InstanceService(settings, integration="acme-erp")
    try:
        result = service.deploy(
            DEMO_INSTANCE,
            request,
            progress=lambda line: console.print(Text(f"  {line}", style="dim")),
        )
    finally:
        service.close()
    if not result.ok:
        raise RuntimeError(f"deploying {DEMO_INSTANCE} failed: {result.message}")
    return dict(result.webhook_urls)


def where_to_look(stack: Stack, webhook_urls: dict[str, str]) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Airflow UI", f"{stack.airflow_url}   login admin / {stack.airflow_password()}")
    table.add_row("", f"Integrations view: {stack.airflow_url}/integrations/")
    table.add_row("Relay", f"{stack.relay_url}   (metrics {stack.relay_url}/metrics)")
    for flow, url in sorted(webhook_urls.items()):
        table.add_row(f"  webhook {flow}", url)
    table.add_row(
        "Acme ERP simulator",
        f"{stack.acme_url}/docs   account {DEMO_ACCOUNT}   key {stack.acme_keys[DEMO_ACCOUNT]}",
    )
    table.add_row(
        "Progix simulator",
        f"{stack.progix_url}/docs   tenant {DEMO_TENANT}   key {stack.progix_keys[DEMO_TENANT]}",
    )
    table.add_row("Logs", str(stack.log_dir))
    table.add_row("CLI (another shell)", "paste the export line below, then:")
    table.add_row("", f"acme-erp status {DEMO_INSTANCE}")
    return Panel(table, title=f"Acme ERP -> Progix demo: instance {DEMO_INSTANCE}", expand=False)


def export_line(stack: Stack) -> str:
    """The CLI's environment as one shell line (values quoted), to paste into another shell."""
    env = stack.client_environment()
    names = (
        "INTEGRATION_AIRFLOW_URL",
        "INTEGRATION_AIRFLOW_PASSWORD",
        "INTEGRATION_INSTANCES_DIR",
        "INTEGRATION_RELAY_URL",
        "INTEGRATION_RELAY_REGISTRAR_TOKEN",
    )
    return "export " + " ".join(f"{name}={shlex.quote(env[name])}" for name in names)


def print_plain_line(console: Console, line: str) -> None:
    """One line exactly as given, outside any box: never wrapped, cut or read as markup,
    whatever the terminal's width (or none, when piped), so it can be copied and pasted."""
    console.file.write(line + "\n")
    console.file.flush()


class ChangeStream(threading.Thread):
    """Customer and inventory changes into Acme, in short rounds until `stop()`.

    Each round (the sandbox load generator) creates a couple of records and updates records
    of that round; short rounds let the demo stop the stream within seconds, before it stops
    the services the stream talks to.
    """

    ROUND = LoadPlan(customers=2, items=2, updates=16, rate=5.0, concurrency=2)

    def __init__(self, acme_url: str, api_key: str, rate: float) -> None:
        super().__init__(name="demo-changes", daemon=True)
        self.acme_url = acme_url
        self.api_key = api_key
        self.plan = replace(self.ROUND, rate=rate)
        self.changes = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            summary = LoadGenerator(self.acme_url, self.api_key, self.plan).run()
            self.changes += (
                summary["customers_created"] + summary["items_created"] + summary["updates_applied"]
            )

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self.join(timeout)


class Counts:
    """What the live view shows, read from the simulators and Airflow."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.rest = stack.rest("viewer")
        self.http = httpx.Client(timeout=5.0)

    def progix_total(self, collection: str) -> int | str:
        response = self.http.get(
            f"{self.stack.progix_url}/v1/{collection}",
            params={"limit": 1},
            headers={"authorization": f"Bearer {self.stack.progix_keys[DEMO_TENANT]}"},
        )
        return response.json()["total"] if response.is_success else f"HTTP {response.status_code}"

    def acme_stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.stack.acme_url}/_sandbox/stats").json()

    def dag_runs(self) -> dict[str, int]:
        """Run counts by state (the demo deploys one instance, so every run is its)."""

        def total(**params: str) -> int:
            body = self.rest.get("/api/v2/dags/~/dagRuns", params={"limit": 1, **params})
            return int(body["total_entries"])

        states = {state: total(state=state) for state in ("success", "running", "queued", "failed")}
        return {"total": total(), **states}

    def table(self, changes: int, every: float) -> Table:
        title = f"live (refreshes every {every:g} s; Ctrl-C stops everything)"
        table = Table(title=title, expand=False)
        table.add_column("what")
        table.add_column("count", justify="right")
        try:
            acme = self.acme_stats()
            runs = self.dag_runs()
            rows = [
                ("changes made in Acme (creates + updates)", changes),
                ("change events recorded in Acme (every type)", acme["events"]),
                (
                    "webhook deliveries to the relay: delivered / pending / failed "
                    "(one per event and subscription, resends included)",
                    f"{acme['delivered']} / {acme['pending_deliveries']} / {acme['failed']}",
                ),
                (
                    "Airflow DAG runs (all / success / running+queued / failed)",
                    f"{runs['total']} / {runs['success']} / {runs['running'] + runs['queued']} / {runs['failed']}",
                ),
                ("Progix customers in tenant " + DEMO_TENANT, self.progix_total("customers")),
                ("Progix inventory items in tenant " + DEMO_TENANT, self.progix_total("inventory")),
            ]
        except (httpx.HTTPError, KeyError, ValueError) as error:
            rows = [("(could not read counts)", type(error).__name__)]
        for name, value in rows:
            table.add_row(name, str(value))
        return table


def stop_on_signals() -> None:
    """SIGINT and SIGTERM stop the demo however it was started: a shell starting a job in the
    background (`make demo &`) sets SIGINT to be ignored, and Python keeps it ignored."""

    def handler(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


LIVE_EVERY = 2.0  # seconds between live-table refreshes on a terminal
PIPED_EVERY = 15.0  # seconds between printed tables when the output is piped


def run_demo(options: DemoOptions, console: Console | None = None) -> None:
    console = console or Console()
    check_ports_free(options.ports)
    stop_on_signals()
    reset_state_dir(options.state_dir)
    stack = Stack(
        StackOptions(
            state_dir=options.state_dir,
            ports=options.ports,
            acme_accounts=(DEMO_ACCOUNT,),
            progix_tenants=(DEMO_TENANT,),
        )
    )
    try:
        with console.status("Starting PostgreSQL, Airflow, the relay and the simulators..."):
            started = time.monotonic()
            stack.start()
        console.print(f"Stack up in {time.monotonic() - started:.0f}s (logs: {stack.log_dir})")
        seeded = seed_demo_data(stack.acme_url, stack.acme_keys[DEMO_ACCOUNT])
        console.print(f"Seeded Acme: {seeded.customers} customers, {seeded.items} items")
        console.print(f"Deploying instance {DEMO_INSTANCE} (acme-erp deploy)...")
        webhook_urls = deploy_demo_instance(stack, console)
        console.print(where_to_look(stack, webhook_urls))
        print_plain_line(console, export_line(stack))
        _drive_changes(stack, options, console)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("Stopping everything the demo started...")
        stack.stop()
        console.print("Stopped.")


def _drive_changes(stack: Stack, options: DemoOptions, console: Console) -> None:
    stream = ChangeStream(stack.acme_url, stack.acme_keys[DEMO_ACCOUNT], options.rate)
    stream.start()
    try:
        _show_counts(stack, stream, console)
    finally:
        stream.stop()  # before the services it talks to go away


def _show_counts(stack: Stack, stream: ChangeStream, console: Console) -> None:
    counts = Counts(stack)
    if not console.is_terminal:
        # Rich's Live only draws on a terminal; piped (`make demo | tee`), print every 15 s.
        while True:
            _check_alive(stack)
            console.print(counts.table(stream.changes, PIPED_EVERY))
            time.sleep(PIPED_EVERY)
    with Live(console=console, refresh_per_second=1, transient=False) as live:
        while True:
            _check_alive(stack)
            live.update(Group(counts.table(stream.changes, LIVE_EVERY)))
            time.sleep(LIVE_EVERY)


def _check_alive(stack: Stack) -> None:
    for name in ("airflow", "relay", "acme", "progix"):
        if not stack.process(name).is_running():
            raise RuntimeError(f"{name} exited; see {stack.process(name).log_path}")
