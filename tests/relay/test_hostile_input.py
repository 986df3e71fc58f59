"""Hostile and merely unusual input at the real relay process, on SQLite and PostgreSQL:
every case is a 4xx with a JSON reason, stores nothing, and costs no other request."""

from __future__ import annotations

import concurrent.futures
import json
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

TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def hostile_relay(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    tmp = tmp_path_factory.mktemp(f"hostile-{store_kind}")
    env = {
        "RELAY_BODY_READ_TIMEOUT_SECONDS": str(TIMEOUT_S),
        "RELAY_HEADER_READ_TIMEOUT_SECONDS": str(TIMEOUT_S),
        "RELAY_MAX_HEADER_BYTES": "8192",
    }
    with (
        fresh_store_url(store_kind, tmp) as url,
        ingest_only_relay(tmp, url, extra_env=env) as relay,
    ):
        yield relay


BAD_BODIES = {
    "lone surrogate": (b'{"type": "\\udfff", "object_id": "c1"}', "lone surrogates"),
    "escaped NUL": (b'{"type": "customer.updated", "object_id": "c\\u0000"}', "NUL"),
    "raw NUL": (b'{"type": "x\x00", "object_id": "c1"}', "NUL"),
    "UTF-16": ('{"type": "a", "object_id": "c1"}'.encode("utf-16"), "UTF-8"),
    "UTF-16LE": ('{"type": "a", "object_id": "c1"}'.encode("utf-16-le"), "NUL"),
    "UTF-32": ('{"type": "a", "object_id": "c1"}'.encode("utf-32"), "UTF-8"),
    "UTF-8 BOM": (b'\xef\xbb\xbf{"type": "a", "object_id": "c1"}', "byte order mark"),
    "latin-1": ('{"type": "caf\xe9", "object_id": "c1"}'.encode("latin-1"), "UTF-8"),
    "deep nesting": (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_signed_non_canonical_bodies_are_400_and_store_nothing(
    hostile_relay: Relay, case: str
) -> None:
    body, reason = BAD_BODIES[case]
    route = unique_route()
    response = hostile_relay.deliver(route, f"msg_{abs(hash(case))}", body=body)
    assert response.status_code == 400, response.text
    assert reason in response.json()["detail"]
    assert hostile_relay.events(route) == []


def test_a_bad_event_never_fails_the_good_ones_sent_with_it(hostile_relay: Relay) -> None:
    """600 valid events in bursts with lone-surrogate events among them: all 600 are 200."""
    route = unique_route()
    bad = BAD_BODIES["lone surrogate"][0]

    def send(i: int) -> int:
        if i % 10 == 0:
            return hostile_relay.deliver(route, f"msg_bad_{i}", body=bad).status_code
        return hostile_relay.deliver(route, f"msg_good_{i}").status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(send, range(660)))
    assert [c for i, c in enumerate(codes) if i % 10 == 0] == [400] * 66
    assert [c for i, c in enumerate(codes) if i % 10] == [200] * 594
    assert len(hostile_relay.events(route)) == 594


def test_non_ascii_digits_in_the_timestamp_are_a_401(hostile_relay: Relay) -> None:
    route = unique_route()
    response = hostile_relay.deliver(route, headers={"webhook-timestamp": b"17\xb2"})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid signature"}


def test_non_ascii_webhook_id_is_a_400(hostile_relay: Relay) -> None:
    route = unique_route()
    response = hostile_relay.deliver(route, headers={"webhook-id": b"msg_\xe9"})
    assert response.status_code == 400
    assert "webhook-id" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/hooks/acme-erp/shop-1/sync-customer-data/",
        "/hooks/acme-erp/shop-1/sync-customer-data%0a",
        "/hooks/acme-erp/shop-1/sync-customer-data%00",
        "/hooks/a/b/c/",
        "/hooks//acme-erp/shop-1/sync-customer-data",
    ],
)
def test_route_parsing_is_exact(hostile_relay: Relay, path: str) -> None:
    response = hostile_relay.http.post(path, content=b"{}")
    assert response.status_code == 404
    assert "route" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/events", {"params": {"before_id": str(2**64)}}),
        ("GET", "/events", {"params": {"before_id": "-1"}}),
        ("POST", "/replay", {"json": {"event_ids": [2**64]}}),
        ("POST", "/replay", {"json": {"event_ids": [0]}}),
        ("GET", "/events", {"params": {"webhook_id": "a\x00b"}}),
        ("GET", "/events", {"params": {"batch_id": "\x00"}}),
        ("GET", "/batches/a%00b", {}),
        ("GET", "/quarantine", {"params": {"before_id": str(2**63)}}),
        ("POST", "/replay", {"json": {"event_ids": [1], "route": "a/b/c\x00"}}),
        ("GET", "/quarantine", {"params": {"route": "acme-erp/x\x00/sync-customer-data"}}),
        ("POST", "/quarantine/replay", {"json": {"event_ids": [2**64]}}),
        ("POST", "/quarantine/replay", {"json": {"route": "a/b/c\x00"}}),
    ],
)
def test_admin_api_bad_values_are_4xx(
    hostile_relay: Relay, method: str, path: str, kwargs: dict
) -> None:
    response = hostile_relay.admin(method, path, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


def _raw(relay: Relay, data: bytes, *, wait: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", relay.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_a_body_shorter_than_its_content_length_times_out_with_408(hostile_relay: Relay) -> None:
    route = unique_route()
    hostile_relay.register(route)  # an unknown route is a 404 before the body is read
    body = thin_event_body("msg_short")
    head = (
        f"POST /hooks/{route} HTTP/1.1\r\nHost: relay\r\nContent-Length: {len(body) + 100}\r\n"
        f"webhook-id: msg_short\r\nwebhook-timestamp: {int(time.time())}\r\n"
        "webhook-signature: v1,AAAA\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = _raw(hostile_relay, head + body)
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 8
    assert hostile_relay.events(route) == []


@pytest.mark.parametrize("sent", [b"", b"POST /hooks/a/b/c HTTP/1.1\r\nHost: rel"])
def test_idle_or_partial_request_heads_are_closed(hostile_relay: Relay, sent: bytes) -> None:
    started = time.monotonic()
    answer = _raw(hostile_relay, sent)
    assert time.monotonic() - started < 8
    assert answer.startswith(b"HTTP/1.1 408")
    assert "request head" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]


def test_oversized_request_head_is_431(hostile_relay: Relay) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    answer = _raw(hostile_relay, head)
    assert answer.startswith(b"HTTP/1.1 431")
    assert httpx.get(f"{hostile_relay.url}/healthz", timeout=10).status_code == 200
