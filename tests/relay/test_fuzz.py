"""Property-based fuzzing of the real relay process: `/hooks` with hypothesis (headers,
encodings, sizes, nesting, with and without valid signatures) and the admin API with
schemathesis from the relay's own OpenAPI document. Both bounded (max examples): no input
may get a server error, and every delivery answered 200 is stored."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.relay.harness import ADMIN_TOKEN, Relay, fresh_store_url, ingest_only_relay
from webhook_relay.signatures import secret_to_key, sign

ROUTE = "acme-erp/shop-fuzz/sync-customer-data"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(scope="module")
def fuzz_relay(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{store_kind}")
    with fresh_store_url(store_kind, tmp) as url, ingest_only_relay(tmp, url) as relay:
        yield relay


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
thin_objects = st.fixed_dictionaries(
    {},
    optional={
        "type": st.text(max_size=300) | json_values,
        "object_id": st.text(max_size=300) | json_values,
        "occurred_at": st.text(max_size=80),
        "data": json_values,
    },
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "value", "nested", "bytes", "escapes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    if kind == "nested":
        depth = draw(st.sampled_from([1, 63, 64, 65, 1000, 100_000]))
        return b'{"type": "t", "object_id": "o", "x": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "escapes":
        escape = draw(st.sampled_from(["\\udfff", "\\ud800", "\\u0000", "\\ud83d\\ude00"]))
        return f'{{"type": "a{escape}", "object_id": "o"}}'.encode()
    value = draw(thin_objects if kind == "object" else json_values)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32", "utf-8-sig"]))
    return text.encode(encoding, errors="surrogatepass")


header_bytes = st.binary(max_size=40).filter(lambda b: not set(b) & {0, 10, 13})


@st.composite
def deliveries(draw: st.DrawFn, key: bytes) -> tuple[str, dict[str, Any], bytes]:
    """A delivery to the registered route (or a malformed one), signed with `key` or not."""
    body = draw(bodies())
    msg_id = draw(st.from_regex(r"msg_[A-Za-z0-9]{1,20}", fullmatch=True) | header_bytes)
    timestamp = draw(st.just(str(int(time.time())).encode()) | header_bytes)
    headers: dict[str, Any] = {"webhook-id": msg_id, "webhook-timestamp": timestamp}
    if draw(st.booleans()) and isinstance(msg_id, str) and timestamp.isdigit():
        headers["webhook-signature"] = sign(key, msg_id, int(timestamp), body)
    else:
        headers["webhook-signature"] = draw(header_bytes)
    for name in draw(st.lists(st.sampled_from(sorted(headers)), max_size=2)):
        headers.pop(name, None)
    headers["content-type"] = draw(st.sampled_from(["application/json", "text/plain"]))
    route = draw(st.sampled_from([ROUTE, ROUTE + "/", "acme-erp/x/y", "a/b/c/d", ROUTE + "%0a"]))
    return route, headers, body


def raw_post(
    port: int, path: str, headers: dict[str, Any], body: bytes
) -> tuple[int, dict, bytes] | None:
    """POST over a plain socket: header bytes go out exactly as drawn (httpx refuses some
    that a hostile sender can still send). Returns status, headers and body, or None when
    the connection was reset before an answer arrived."""
    lines = [f"POST {path} HTTP/1.1".encode(), b"Host: relay", b"Connection: close"]
    for name, value in headers.items():
        lines.append(
            name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        )
    lines.append(b"Content-Length: %d" % len(body))
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            # Refused before the body was all sent (a bad head): the unread rest resets
            # the connection, which can discard the answer. Never a 200: that needs the body.
            return None
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    answer_headers = dict(
        (k.strip().lower().decode(), v.strip().decode("latin-1"))
        for k, _, v in (h.partition(b":") for h in header_lines)
    )
    return int(status_line.split()[1]), answer_headers, content


def test_hooks_fuzzing_finds_no_server_error(fuzz_relay: Relay) -> None:
    accepted: list[str] = []
    key = secret_to_key(fuzz_relay.register(ROUTE))

    @FUZZ
    @given(deliveries(key))
    def deliver(delivery: tuple[str, dict[str, Any], bytes]) -> None:
        route, headers, body = delivery
        answer = raw_post(fuzz_relay.port, f"/hooks/{route}", headers, body)
        if answer is None:
            assert httpx.get(f"{fuzz_relay.url}/healthz", timeout=10).status_code == 200
            return
        status, answer_headers, content = answer
        assert status < 500, (status, content)
        if status == 200:
            if answer_headers["webhook-relay-result"] != "duplicate":
                accepted.append(headers["webhook-id"])
        else:
            assert "detail" in json.loads(content), (status, content)

    deliver()
    stored = {e["webhook_id"] for e in fuzz_relay.events(ROUTE)}
    stored |= {e["webhook_id"] for e in fuzz_relay.events(ROUTE, status="quarantined")}
    assert set(accepted) <= stored
    assert httpx.get(f"{fuzz_relay.url}/healthz", timeout=10).status_code == 200


def test_admin_api_fuzzing_finds_no_server_error(fuzz_relay: Relay) -> None:
    """Every operation of the relay's OpenAPI document, positive and negative cases."""
    schema = schemathesis.openapi.from_url(f"{fuzz_relay.url}/openapi.json")
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    failures: list[tuple[str, str, int, str]] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    calls = 0
    for operation in operations:
        cases = operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE)

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(cases)
        def call(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=auth, timeout=30)
            if response.status_code >= 500:
                failures.append(
                    (case.method, case.formatted_path, response.status_code, response.text)
                )

        call()
    assert failures == []
    assert calls >= 10 * len(operations)
