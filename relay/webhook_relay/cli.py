"""`webhook-relay`: serve, dispatch, replay, quarantine, prune, stats, migrate, routes …, secrets keys."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from typing import Annotated

import typer
from pydantic import ValidationError

from webhook_relay.routes import InvalidRoute, Route
from webhook_relay.settings import ConfigError, RelaySettings

app = typer.Typer(
    help="Receive signed webhooks, store them durably, trigger Airflow DAG runs in batches.",
    no_args_is_help=True,
    add_completion=False,
)

LogLevel = Annotated[str, typer.Option(help="Python log level")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _settings() -> RelaySettings:
    try:
        return RelaySettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"RELAY_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise _fail(f"invalid settings: {problems}") from None


def _store(settings: RelaySettings, *, migrate: bool = True):
    from webhook_relay.store.engine import create_store_engine
    from webhook_relay.store.migrate import upgrade_to_head
    from webhook_relay.store.repository import Store

    engine = create_store_engine(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pg_connect_timeout_s=settings.pg_connect_timeout_seconds,
        pg_statement_timeout_ms=settings.pg_statement_timeout_ms,
    )
    if migrate:
        upgrade_to_head(engine)
    return Store(engine)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _secret_box(settings: RelaySettings):
    from webhook_relay.secretbox import SecretBox

    try:
        return SecretBox.from_settings(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _routes_repo(settings: RelaySettings | None = None):
    from webhook_relay.store.routes_repo import RouteRepository

    settings = settings or _settings()
    box = _secret_box(settings)
    return RouteRepository(_store(settings), box)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    no_dispatcher: Annotated[
        bool, typer.Option("--no-dispatcher", help="Only ingest; run `dispatch` separately")
    ] = False,
    log_level: LogLevel = "info",
) -> None:
    """Run the HTTP service (ingest, health, metrics, admin) and, by default, a dispatcher."""
    import uvicorn

    from webhook_relay.app import create_app
    from webhook_relay.server import guarded_protocol

    _configure_logging(log_level)
    settings = _settings()
    _secret_box(settings)
    relay = create_app(settings, _store(settings), with_dispatcher=not no_dispatcher)
    # Helper threads (the ingest writer's lock wait and commit, the dispatcher's queries)
    # take the GIL back from the event loop several times per transaction; with the default
    # 5 ms switch interval each hand-off can stall that long.
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        relay,
        host=host,
        port=port,
        loop="auto",  # uvloop when installed (a dependency)
        http=guarded_protocol(
            header_timeout=settings.header_read_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
        ),
        access_log=False,
        log_level=log_level.lower(),
        backlog=4096,
        timeout_graceful_shutdown=15,
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )


@app.command()
def dispatch(log_level: LogLevel = "info") -> None:
    """Run a dispatcher only (several may run against one PostgreSQL store)."""
    from webhook_relay.app import airflow_client
    from webhook_relay.dispatcher import Dispatcher
    from webhook_relay.maintenance import prune_periodically

    _configure_logging(log_level)
    settings = _settings()
    store = _store(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        client = airflow_client(settings)
        pruning = asyncio.create_task(prune_periodically(store, settings, stop))
        try:
            await Dispatcher(settings, store, client).run(stop)
        finally:
            await client.aclose()
            await pruning

    asyncio.run(main())


@app.command()
def replay(
    event_id: Annotated[
        list[int] | None, typer.Option("--event-id", help="Event to replay (repeatable)")
    ] = None,
    dead_letters: Annotated[
        bool, typer.Option("--dead-letters", help="Replay every dead-lettered event")
    ] = False,
    route: Annotated[str | None, typer.Option(help="Limit to INTEGRATION/INSTANCE/FLOW")] = None,
) -> None:
    """Send finished events again, in new batches with new run ids."""
    if not event_id and not dead_letters:
        raise _fail("give --event-id ID (repeatable) or --dead-letters")
    route_path = _parse_route(route).path if route else None
    store = _store(_settings())
    count = store.replay(event_ids=event_id or (), dead_letters=dead_letters, route=route_path)
    rechecked = store.replay_quarantined(event_ids=event_id or (), route=route_path)
    replayed = count + rechecked["released"]
    typer.echo(json.dumps({"replayed": replayed, **_still(rechecked)}))


def _still(rechecked: dict[str, int]) -> dict[str, int]:
    """Named only when some selected quarantined events still fail their checks."""
    still = rechecked["still_quarantined"]
    return {"still_quarantined": still} if still else {}


quarantine_app = typer.Typer(
    help="Events stored but never batched: their thin fields fail the event contract.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    route: Annotated[str | None, typer.Option(help="Limit to INTEGRATION/INSTANCE/FLOW")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest first")] = 100,
) -> None:
    """Print quarantined events with their reasons (JSON lines)."""
    route_path = _parse_route(route).path if route else None
    store = _store(_settings())
    for row in store.list_events(route=route_path, status="quarantined", limit=limit):
        keep = ("id", "route", "webhook_id", "event_type", "object_id", "quarantine_reason")
        typer.echo(json.dumps({k: row[k] for k in keep}))


@quarantine_app.command("replay")
def quarantine_replay(
    event_id: Annotated[
        list[int] | None, typer.Option("--event-id", help="Event to re-check (repeatable)")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Re-check every quarantined event")] = False,
    route: Annotated[
        str | None,
        typer.Option(help="Every quarantined event of INTEGRATION/INSTANCE/FLOW (or limit ids)"),
    ] = None,
) -> None:
    """Re-check quarantined events: those that pass now become pending and are dispatched,
    the others keep their (updated) reason."""
    if not event_id and not all_ and not route:
        raise _fail("give --event-id ID (repeatable), --route ROUTE or --all")
    if event_id and all_:
        raise _fail("give --event-id or --all, not both")
    route_path = _parse_route(route).path if route else None
    store = _store(_settings())
    result = store.replay_quarantined(
        event_ids=event_id or (), route=route_path, all_=all_ or not event_id
    )
    typer.echo(json.dumps(result))


@app.command()
def prune() -> None:
    """Apply the retention policy now (serve and dispatch also prune periodically)."""
    settings = _settings()
    store = _store(settings)
    typer.echo(json.dumps(store.prune(time.time(), settings.retention_policy)))


@app.command()
def stats() -> None:
    """Print queue depth, event and batch counts, paused routes (JSON)."""
    store = _store(_settings())
    typer.echo(json.dumps(store.stats(time.time()), indent=2))


@app.command("reencrypt-secrets")
def reencrypt_secrets() -> None:
    """Re-encrypt every stored route secret with the first RELAY_SECRETS_KEYS key, so the
    other keys can then be dropped."""
    count = _routes_repo().reencrypt_all()
    typer.echo(json.dumps({"reencrypted": count}))


@app.command("new-secrets-key")
def new_secrets_key() -> None:
    """Print a new Fernet key for RELAY_SECRETS_KEYS."""
    from webhook_relay.secretbox import new_key

    typer.echo(new_key())


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (serve and dispatch also do this)."""
    _store(_settings())
    typer.echo("database schema is up to date")


def _parse_route(text: str) -> Route:
    try:
        return Route.parse(text)
    except InvalidRoute as exc:
        raise _fail(str(exc)) from None


def _add_route_commands() -> None:
    from webhook_relay.cli_routes import routes_app

    app.add_typer(routes_app, name="routes")


_add_route_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
