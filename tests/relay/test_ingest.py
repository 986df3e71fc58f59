"""Ingest through the real `webhook-relay serve` process, on SQLite and PostgreSQL.

The relay here runs without a dispatcher and with Airflow unreachable: ingest must never
depend on Airflow. Every rejected delivery must leave nothing stored.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.relay.harness import (
    Relay,
    fresh_store_url,
    ingest_only_relay,
    thin_event_body,
    unique_route,
)
from webhook_relay.signatures import secret_to_key, sign

MAX_BODY = 4096


@pytest.fixture(scope="module")
def ingest_relay(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    tmp = tmp_path_factory.mktemp(f"ingest-{store_kind}")
    env = {"RELAY_MAX_BODY_BYTES": str(MAX_BODY)}
    with (
        fresh_store_url(store_kind, tmp) as url,
        ingest_only_relay(tmp, url, extra_env=env) as relay,
    ):
        yield relay


def test_delivery_is_acknowledged_and_stored_with_its_thin_fields(ingest_relay: Relay) -> None:
    route = unique_route()
    response = ingest_relay.deliver(route, "msg_thin_1")
    assert response.status_code == 200
    assert response.headers["webhook-relay-result"] == "accepted"
    assert response.content == b""
    [event] = ingest_relay.events(route)
    assert event["webhook_id"] == "msg_thin_1"
    assert event["event_type"] == "customer.updated"
    assert event["object_id"] == "cust-thin_1"
    assert event["occurred_at"] == "2026-11-28T12:00:00Z"
    assert event["status"] == "pending"


def test_standard_webhooks_payload_shape_is_understood(ingest_relay: Relay) -> None:
    """Generic senders: `type`, `timestamp` and `data.id` stand in for the thin fields."""
    route = unique_route()
    body = b'{"type": "invoice.paid", "timestamp": "2026-11-28T10:00:00Z", "data": {"id": "inv_9"}}'
    assert ingest_relay.deliver(route, "msg_sw", body=body).status_code == 200
    [event] = ingest_relay.events(route)
    assert (event["event_type"], event["object_id"], event["occurred_at"]) == (
        "invoice.paid",
        "inv_9",
        "2026-11-28T10:00:00Z",
    )


def test_redelivery_is_acknowledged_and_stored_once(ingest_relay: Relay) -> None:
    route = unique_route()
    first = ingest_relay.deliver(route, "msg_dup")
    again = ingest_relay.deliver(route, "msg_dup")  # fresh timestamp and signature
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.headers["webhook-relay-result"] == "accepted"
    assert again.headers["webhook-relay-result"] == "duplicate"
    assert len(ingest_relay.events(route)) == 1
    # The same webhook id on another route is another event.
    other = unique_route()
    assert ingest_relay.deliver(other, "msg_dup").headers["webhook-relay-result"] == "accepted"


def test_concurrent_duplicates_are_stored_once(ingest_relay: Relay) -> None:
    import concurrent.futures

    route = unique_route()
    ingest_relay.register(route)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: ingest_relay.deliver(route, "msg_race"), range(16)))
    assert {r.status_code for r in statuses} == {200}
    assert sum(r.headers["webhook-relay-result"] == "accepted" for r in statuses) == 1
    assert len(ingest_relay.events(route)) == 1


def test_rotated_out_secret_still_verifies_and_several_signatures_are_accepted(
    ingest_relay: Relay,
) -> None:
    route = unique_route()
    old_secret = ingest_relay.register(route)
    assert ingest_relay.admin("POST", f"/routes/{route}/rotate").status_code == 200
    new_secret = ingest_relay.current_secret(route)
    assert new_secret != old_secret
    assert ingest_relay.deliver(route, "msg_old_key", secret=old_secret).status_code == 200

    body = thin_event_body("msg_multi")
    ts = int(time.time())
    good = sign(secret_to_key(new_secret), "msg_multi", ts, body)
    bad = sign(b"k" * 32, "msg_multi", ts, body)
    response = ingest_relay.deliver(
        route, "msg_multi", body=body, headers={"webhook-signature": f"{bad} {good}"}
    )
    assert response.status_code == 200
    assert len(ingest_relay.events(route)) == 2


def _signature_failures(relay: Relay) -> dict[str, float]:
    text = relay.http.get("/metrics").text
    out = {}
    for line in text.splitlines():
        if line.startswith("relay_signature_failures_total{"):
            reason = line.split('reason="')[1].split('"')[0]
            out[reason] = float(line.rsplit(" ", 1)[1])
    return out


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered_body", "no_matching_signature"),
        ("wrong_secret", "no_matching_signature"),
        ("other_route_secret", "no_matching_signature"),
        ("too_old", "timestamp_too_old"),
        ("too_new", "timestamp_too_new"),
        ("malformed_timestamp", "malformed_timestamp"),
        ("malformed_signature", "malformed_signature"),
    ],
)
def test_bad_signatures_get_the_same_401_and_store_nothing(
    ingest_relay: Relay, case: str, reason: str
) -> None:
    route = unique_route()
    msg_id = f"msg_{case}"
    body = thin_event_body(msg_id)
    key = secret_to_key(ingest_relay.register(route))
    now = int(time.time())
    kwargs: dict = {}
    if case == "tampered_body":
        signature = sign(key, msg_id, now, body)
        kwargs = {
            "body": body.replace(b"customer", b"kustomer"),
            "headers": {"webhook-signature": signature},
        }
    elif case == "wrong_secret":
        kwargs = {"secret": "whsec_" + "A" * 43 + "="}
    elif case == "other_route_secret":
        kwargs = {"secret": ingest_relay.register(unique_route())}
    elif case == "too_old":
        kwargs = {"timestamp": now - 600}
    elif case == "too_new":
        kwargs = {"timestamp": now + 600}
    elif case == "malformed_timestamp":
        kwargs = {"headers": {"webhook-timestamp": "yesterday"}}
    else:
        kwargs = {"headers": {"webhook-signature": "v1:not-a-signature"}}
    before = _signature_failures(ingest_relay).get(reason, 0)

    response = ingest_relay.deliver(route, msg_id, **kwargs)

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid signature"}  # never says which check failed
    assert ingest_relay.events(route) == []
    assert _signature_failures(ingest_relay)[reason] == before + 1


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_a_400_naming_it(ingest_relay: Relay, header: str) -> None:
    route = unique_route()
    body = thin_event_body("msg_missing")
    ts = str(int(time.time()))
    headers = {
        "webhook-id": "msg_missing",
        "webhook-timestamp": ts,
        "webhook-signature": sign(
            secret_to_key(ingest_relay.register(route)), "msg_missing", int(ts), body
        ),
    }
    del headers[header]
    response = ingest_relay.http.post(f"/hooks/{route}", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"] == f"missing header: {header}"
    assert ingest_relay.events(route) == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"<xml>not json</xml>", "body is not valid JSON"),
        (b'["a", "list"]', "body must be a JSON object"),
    ],
)
def test_signed_body_that_is_not_a_json_object_is_a_400(
    ingest_relay: Relay, body: bytes, detail: str
) -> None:
    route = unique_route()
    response = ingest_relay.deliver(route, "msg_notjson", body=body)
    assert response.status_code == 400
    assert response.json()["detail"] == detail
    assert ingest_relay.events(route) == []


def test_unknown_route_shape_is_a_404(ingest_relay: Relay) -> None:
    response = ingest_relay.deliver("acme-erp/Shop_1/sync", "msg_route", register=False)
    assert response.status_code == 404
    assert "instance" in response.json()["detail"]


def _raw_exchange(relay: Relay, head: bytes, parts: list[bytes]) -> bytes:
    """Send the request head and only `parts` of the body, then read the answer."""
    with socket.create_connection(("127.0.0.1", relay.port), timeout=20) as sock:
        sock.sendall(head)
        for part in parts:
            sock.sendall(part)
        return sock.recv(65536)


def test_declared_oversized_body_is_413_before_the_body_is_sent(ingest_relay: Relay) -> None:
    route = unique_route()
    ingest_relay.register(route)
    head = (
        f"POST /hooks/{route} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\nwebhook-id: msg_big\r\n"
        f"webhook-timestamp: {int(time.time())}\r\nwebhook-signature: v1,AAAA\r\n\r\n"
    ).encode()
    answer = _raw_exchange(ingest_relay, head, [b"{" + b" " * 1000])  # 50 MiB never follow
    assert answer.startswith(b"HTTP/1.1 413")
    assert ingest_relay.events(route) == []


def test_streamed_oversized_body_is_413_after_the_cap(ingest_relay: Relay) -> None:
    route = unique_route()
    ingest_relay.register(route)
    head = (
        f"POST /hooks/{route} HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\nwebhook-id: msg_stream\r\n"
        f"webhook-timestamp: {int(time.time())}\r\nwebhook-signature: v1,AAAA\r\n\r\n"
    ).encode()
    chunk = b"x" * 1024
    parts = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(MAX_BODY // 1024 + 2)]
    answer = _raw_exchange(ingest_relay, head, parts)  # no terminating chunk: never "complete"
    assert answer.startswith(b"HTTP/1.1 413")
    assert ingest_relay.events(route) == []


def test_body_at_the_cap_is_accepted(ingest_relay: Relay) -> None:
    route = unique_route()
    body = thin_event_body("msg_cap", padding="")
    body = thin_event_body("msg_cap", padding="p" * (MAX_BODY - len(body)))
    assert len(body) == MAX_BODY
    assert ingest_relay.deliver(route, "msg_cap", body=body).status_code == 200


def test_health_reports_ok_without_airflow(ingest_relay: Relay) -> None:
    response = httpx.get(f"{ingest_relay.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
