"""The route registry through real relay processes: what ingest answers for unknown and
retired routes, the registrar credential, bad input, rotation, and two processes on one
store converging."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.processes import free_port
from tests.relay.harness import (
    REGISTRAR_TOKEN,
    SECRETS_KEY,
    Relay,
    migrated_store,
    start_all,
    unique_route,
    wait_for,
)
from webhook_relay.secretbox import SecretBox
from webhook_relay.store.routes_repo import RouteRepository

POLL_MS = 200


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Relay, Relay]]:
    """Two ingest-only relays sharing one store, as behind a load balancer."""
    tmp = tmp_path_factory.mktemp("registry")
    url = f"sqlite:///{tmp / 'relay.db'}"
    env = {"RELAY_REGISTRY_POLL_MS": str(POLL_MS)}
    relays = [
        Relay(
            tmp,
            url,
            airflow_url=f"http://127.0.0.1:{free_port()}",
            no_dispatcher=True,
            extra_env=env,
        )
        for _ in range(2)
    ]
    try:
        start_all(*relays)
        yield relays[0], relays[1]
    finally:
        for relay in relays:
            relay.stop()


@pytest.fixture
def relay(pair: tuple[Relay, Relay]) -> Relay:
    return pair[0]


def registrar(relay: Relay, method: str, path: str, **kwargs):
    return relay.admin(method, path, token=REGISTRAR_TOKEN, **kwargs)


def test_unknown_and_retired_routes_are_refused_and_nothing_is_stored(relay: Relay) -> None:
    stray = unique_route()
    response = relay.deliver(stray, register=False)
    assert response.status_code == 404
    assert "not registered" in response.json()["detail"]
    assert relay.events(stray) == []

    route = unique_route()
    assert relay.deliver(route).status_code == 200  # registers, then delivers
    retired = registrar(relay, "POST", f"/routes/{route}/retire")
    assert retired.json() == {"route": route, "result": "retired", "discarded_events": 1}
    response = relay.deliver(route, "msg_after_retire", secret=relay.secrets[route])
    assert response.status_code == 410
    assert [e["status"] for e in relay.events(route)] == ["discarded"]
    stats = relay.admin("GET", "/stats").json()
    assert stats["dead_letters"] == 0


def test_a_route_retired_elsewhere_is_refused_before_this_process_polls(tmp_path: Path) -> None:
    """Another process (a second relay, the CLI) retires a route this relay still has cached
    as active: the next delivery is answered 410 at once and stores nothing, because the
    commit checks the route again. Otherwise it would sit pending on a route that never
    dispatches again, after the retire reported what it discarded."""
    url = f"sqlite:///{tmp_path / 'relay.db'}"
    slow_poll = {"RELAY_REGISTRY_POLL_MS": "600000"}
    airflow_url = f"http://127.0.0.1:{free_port()}"
    relay = Relay(tmp_path, url, airflow_url=airflow_url, no_dispatcher=True, extra_env=slow_poll)
    try:
        relay.start()
        route = unique_route()
        assert relay.deliver(route).status_code == 200  # registers; now cached as active
        with migrated_store(url) as store:
            retired = RouteRepository(store, SecretBox([SECRETS_KEY])).retire(route, time.time())
        assert retired["discarded_events"] == 1

        response = relay.deliver(route, "msg_after_retire", secret=relay.secrets[route])
        assert (response.status_code, response.json()) == (410, {"detail": "route retired"})
        assert [e["status"] for e in relay.events(route)] == ["discarded"]
    finally:
        relay.stop()


def test_registrar_manages_routes_but_is_refused_everything_else(relay: Relay) -> None:
    route = unique_route()
    integration, instance, _ = route.split("/")
    assert registrar(relay, "PUT", f"/routes/{route}").json()["result"] == "created"
    assert registrar(relay, "GET", f"/routes/{route}/secret").json()["secret"].startswith("whsec_")
    assert registrar(relay, "POST", f"/routes/{route}/pause").status_code == 200
    listed = registrar(
        relay, "GET", "/routes", params={"integration": integration, "instance": instance}
    )
    assert [(r["route"], r["paused"], r["held"]) for r in listed.json()["routes"]] == [
        (route, True, 0)
    ]
    assert registrar(relay, "POST", f"/routes/{route}/rotate").status_code == 200
    assert registrar(relay, "POST", f"/routes/{route}/resume").status_code == 200
    relay.deliver(route, secret=registrar(relay, "GET", f"/routes/{route}/secret").json()["secret"])

    for method, path, body in (
        ("GET", "/events", None),
        ("GET", "/batches", None),
        ("GET", "/batches/x", None),
        ("GET", "/stats", None),
        ("POST", "/replay", {"dead_letters": True}),
        ("POST", "/quarantine/replay", {"all": True}),
    ):
        response = registrar(relay, method, path, json=body)
        assert response.status_code == 403, path
        assert "registrar" in response.json()["detail"]
    assert len(relay.events(route)) == 1


def test_bad_registry_requests_are_refused_and_change_nothing(relay: Relay) -> None:
    good = unique_route()
    response = registrar(relay, "POST", "/routes", json={"routes": [good, "acme-erp/Shop_1/x"]})
    assert response.status_code == 400
    assert "instance 'Shop_1'" in response.json()["detail"]
    assert registrar(relay, "GET", f"/routes/{good}").status_code == 404  # nothing registered
    response = registrar(relay, "PUT", "/routes/acme-erp/shop-1/Sync_Customers")
    assert response.status_code == 400
    assert "flow 'Sync_Customers'" in response.json()["detail"]

    assert registrar(relay, "GET", f"/routes/{good}/secret").status_code == 404
    assert registrar(relay, "POST", f"/routes/{good}/rotate").status_code == 404
    assert registrar(relay, "POST", f"/routes/{good}/pause").status_code == 404
    relay.register(good)
    registrar(relay, "POST", f"/routes/{good}/retire")
    for method, path in (("GET", "secret"), ("POST", "rotate"), ("POST", "pause")):
        assert registrar(relay, method, f"/routes/{good}/{path}").status_code == 410, path
    assert registrar(relay, "POST", "/rotate", json={}).status_code == 422
    response = registrar(relay, "POST", "/rotate", json={"integration": "Acme"})
    assert response.status_code == 400


def test_rotation_overlap_then_the_old_secret_is_refused(relay: Relay) -> None:
    route = unique_route()
    old = relay.register(route)
    _, instance, _ = route.split("/")
    rotated = registrar(
        relay,
        "POST",
        "/rotate",
        json={"integration": "acme-erp", "instance": instance, "overlap_seconds": 2},
    ).json()
    assert rotated["rotated"] == [route]
    new = relay.current_secret(route)
    assert relay.deliver(route, secret=old).status_code == 200
    assert relay.deliver(route, secret=new).status_code == 200
    time.sleep(max(0.0, rotated["previous_secrets_expire_at"] - time.time()) + 0.2)
    assert relay.deliver(route, "msg_old_after", secret=old).status_code == 401
    assert relay.deliver(route, secret=new).status_code == 200
    assert len(relay.events(route)) == 3


def test_every_process_sees_a_change_within_a_poll_interval(pair: tuple[Relay, Relay]) -> None:
    first, second = pair
    route = unique_route()
    assert second.deliver(route, register=False).status_code == 404  # cached as unknown

    secret = first.register(route)
    wait_for(
        lambda: second.deliver(route, secret=secret).status_code == 200,
        timeout=2.0,
        what="the second relay to accept the newly registered route",
    )
    registrar(first, "POST", f"/routes/{route}/retire")
    wait_for(
        lambda: second.deliver(route, secret=secret).status_code == 410,
        timeout=2.0,
        what="the second relay to refuse the retired route",
    )


def test_cli_rotate_and_retire_reach_a_running_relay(relay: Relay, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    route = unique_route()
    old = relay.register(route)
    env = {**os.environ, **relay.env}
    script = str(Path(sys.executable).parent / "webhook-relay")
    out = subprocess.run(
        [script, "routes", "rotate", route, "--overlap-seconds", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout)["rotated"] == [route]
    wait_for(
        lambda: relay.deliver(route, secret=old).status_code == 401,
        timeout=2.0,
        what="the old secret to stop verifying",
    )
    assert relay.deliver(route, secret=relay.current_secret(route)).status_code == 200
