"""`webhook-relay routes …`: the route registry from the command line, on the store directly.

Changes bump the registry version, so running relay processes pick them up within one
poll interval (`RELAY_REGISTRY_POLL_MS`).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from integration_contracts.ids import InvalidId, check_segment
from webhook_relay.store.routes_repo import RetiredRoute, UnknownRoute

routes_app = typer.Typer(
    help="Register, retire, rotate, pause and list routes; print a route's secret.",
    no_args_is_help=True,
)

RouteArg = Annotated[str, typer.Argument(help="INTEGRATION/INSTANCE/FLOW")]


def _cli():  # the main module imports this one, so import it lazily
    from webhook_relay import cli

    return cli


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _run(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except UnknownRoute as exc:
        raise _cli()._fail(f"unknown route {exc.args[0]!r}: not registered") from None
    except RetiredRoute as exc:
        raise _cli()._fail(f"route {exc.args[0]!r} is retired") from None


@routes_app.command("register")
def register(routes: Annotated[list[str], typer.Argument(help="Routes to register")]) -> None:
    """Register routes (idempotent; a retired route comes back with a new secret)."""
    cli = _cli()
    parsed = [cli._parse_route(r) for r in routes]
    _echo({"routes": cli._routes_repo().register(parsed, time.time())})


@routes_app.command("retire")
def retire(route: RouteArg) -> None:
    """Retire a route: 410 from now on; what it still holds is discarded (counts printed)."""
    cli = _cli()
    path = cli._parse_route(route).path
    _echo(_run(cli._routes_repo().retire, path, time.time()))


@routes_app.command("secret")
def secret(route: RouteArg) -> None:
    """Print the route's current `whsec_…` secret."""
    cli = _cli()
    path = cli._parse_route(route).path
    typer.echo(_run(cli._routes_repo().current_secret, path)["secret"])


@routes_app.command("rotate")
def rotate(
    route: Annotated[str | None, typer.Argument(help="One route")] = None,
    integration: Annotated[str | None, typer.Option(help="Every route of it")] = None,
    instance: Annotated[str | None, typer.Option(help="With --integration: one instance")] = None,
    all_routes: Annotated[bool, typer.Option("--all", help="Every active route")] = False,
    overlap_seconds: Annotated[
        int | None,
        typer.Option(help="Old secrets verify this long (RELAY_ROTATION_OVERLAP_SECONDS)"),
    ] = None,
) -> None:
    """Give routes a new secret; the old ones keep verifying for the overlap."""
    cli = _cli()
    chosen = [route is not None, integration is not None, all_routes]
    if sum(chosen) != 1 or (instance is not None and integration is None):
        raise cli._fail("give ROUTE, or --integration [--instance], or --all")
    settings = cli._settings()
    repo = cli._routes_repo(settings)
    if route is not None:
        selected = [cli._parse_route(route).path]
        _run(repo.current_secret, selected[0])
    else:
        prefix = None
        if integration is not None:
            try:
                parts = [check_segment("integration", integration)]
                if instance is not None:
                    parts.append(check_segment("instance", instance))
            except InvalidId as exc:
                raise cli._fail(str(exc)) from None
            prefix = "/".join(parts) + "/"
        selected = repo.active_routes(prefix)
    overlap = settings.rotation_overlap_seconds if overlap_seconds is None else overlap_seconds
    now = time.time()
    rotated = repo.rotate(selected, now, overlap)
    _echo({"rotated": rotated, "previous_secrets_expire_at": now + overlap})


@routes_app.command("pause")
def pause(route: RouteArg) -> None:
    """Hold the route's events in the relay (nothing is triggered until resume)."""
    _set_paused(route, True)


@routes_app.command("resume")
def resume(route: RouteArg) -> None:
    """Deliver the route's held events again, in batches."""
    _set_paused(route, False)


def _set_paused(route: str, paused: bool) -> None:
    cli = _cli()
    path = cli._parse_route(route).path
    _run(cli._routes_repo().set_paused, path, paused, time.time())
    _echo({"route": path, "paused": paused})


@routes_app.command("list")
def list_routes(
    integration: Annotated[str | None, typer.Option(help="Only this integration")] = None,
    instance: Annotated[str | None, typer.Option(help="With --integration: one instance")] = None,
) -> None:
    """Registered routes with state, pause flag and held event counts (JSON)."""
    rows = _cli()._routes_repo().list_routes(integration=integration, instance=instance)
    _echo({"routes": rows})
