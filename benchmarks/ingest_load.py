"""The load generator of `relay_ingest.py`: signed ~1 KB Standard Webhooks deliveries over
a small asyncio HTTP/1.1 client (wrk may not be installed), closed-loop (saturating) or
open-loop (a fixed offered rate, latency from the scheduled time)."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time

from ingest_targets import ROUTE

from webhook_relay.signatures import secret_to_key, sign

BODY_SIZE = 1024


class Deliveries:
    """Signed ~1 KB requests with unique webhook ids (a fresh signature each time)."""

    def __init__(self, host: str, port: int, tag: str, secret: str) -> None:
        self.key = secret_to_key(secret)
        self.head = f"POST /hooks/{ROUTE} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        self.counter = itertools.count()
        self.tag = tag
        template = {
            "id": "",
            "type": "customer.updated",
            "object_id": "cust-000000",
            "occurred_at": "2026-11-28T00:00:00Z",
            "account_id": "acct-bench",
            "padding": "",
        }
        base = len(json.dumps(template, separators=(",", ":")))
        self.padding = "x" * (BODY_SIZE - base - 24)

    def next(self) -> bytes:
        n = next(self.counter)
        msg_id = f"msg_{self.tag}_{n:09d}"
        body = json.dumps(
            {
                "id": msg_id,
                "type": "customer.updated",
                "object_id": f"cust-{n % 100000:06d}",
                "occurred_at": "2026-11-28T00:00:00Z",
                "account_id": "acct-bench",
                "padding": self.padding,
            },
            separators=(",", ":"),
        ).encode()
        ts = int(time.time())
        signature = sign(self.key, msg_id, ts, body)
        headers = (
            f"{self.head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"webhook-id: {msg_id}\r\nwebhook-timestamp: {ts}\r\n"
            f"webhook-signature: {signature}\r\n\r\n"
        )
        return headers.encode() + body


async def _exchange(reader, writer, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ok = 0
        self.errors = 0
        self.elapsed = 0.0

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 2)

        return {
            "accepted_per_s": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "errors": self.errors,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(lat) * 1000, 2),
        }


async def closed_loop(
    port: int, secret: str, connections: int, duration: float, tag: str
) -> Result:
    """Each connection sends the next request as soon as the previous one is answered."""
    deliveries = Deliveries("127.0.0.1", port, tag, secret)
    result = Result()
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                request = deliveries.next()
                started = time.perf_counter()
                status = await _exchange(reader, writer, request)
                result.latencies.append(time.perf_counter() - started)
                if status == 200:
                    result.ok += 1
                else:
                    result.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(
    port: int, secret: str, rate: float, duration: float, tag: str, pool: int = 64
) -> Result:
    """Requests start on a fixed schedule; latency counts from the scheduled time, so a slow
    answer is not hidden by the generator waiting for it (no coordinated omission)."""
    deliveries = Deliveries("127.0.0.1", port, tag, secret)
    result = Result()
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def one(scheduled: float) -> None:
        reader, writer = await idle.get()
        try:
            status = await _exchange(reader, writer, deliveries.next())
        finally:
            idle.put_nowait((reader, writer))
        result.latencies.append(time.perf_counter() - scheduled)
        if status == 200:
            result.ok += 1
        else:
            result.errors += 1

    start = time.perf_counter()
    tasks = []
    for i in range(int(rate * duration)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    return result
