"""Injectable faults for the public API: latency, per-key rate limits (429), random 5xx.

They are set from command-line flags at start and replaced at run time with
`PUT /_sandbox/faults`. They apply to the API under `/v1/` only, so `/docs`, the health check
and the admin endpoints stay reliable while a test is making the API misbehave. A request
that gets an injected 429 or 5xx is answered before its handler runs: nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.common.auth import KeyRegistry


class ApiFaults(BaseModel):
    """Faults of the request/response API (both simulators)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0, le=60_000, description="Added to every /v1 request.")
    error_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Probability that a /v1 request fails with a 5xx."
    )
    error_statuses: list[int] = Field(
        default_factory=lambda: [500, 502, 503],
        min_length=1,
        description="Statuses an injected failure picks from.",
    )
    rate_limit_per_second: float | None = Field(
        None, gt=0, description="Requests per second allowed per API key (token bucket)."
    )
    rate_limit_burst: int | None = Field(
        None, ge=1, description="Bucket size; defaults to max(1, rate_limit_per_second)."
    )

    @model_validator(mode="after")
    def _statuses_are_server_errors(self) -> ApiFaults:
        bad = [s for s in self.error_statuses if not 500 <= s <= 599]
        if bad:
            raise ValueError(f"error_statuses must be 5xx, got {bad}")
        return self


FaultsT = TypeVar("FaultsT", bound=ApiFaults)


class FaultState(Generic[FaultsT]):
    """The current fault settings and the per-key token buckets, shared by all requests."""

    def __init__(self, initial: FaultsT) -> None:
        self.initial = initial
        self._settings = initial
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._random = random.Random()

    @property
    def settings(self) -> FaultsT:
        return self._settings

    def replace(self, settings: FaultsT) -> None:
        with self._lock:
            self._settings = settings
            self._buckets.clear()

    def reset(self) -> None:
        self.replace(self.initial)

    def chance(self, probability: float) -> bool:
        return probability > 0 and self._random.random() < probability

    def pick(self, options: list[int]) -> int:
        return self._random.choice(options)

    def take_token(self, api_key: str) -> float:
        """0 when the request may pass, else the seconds until the key has a token again."""
        settings = self._settings
        rate = settings.rate_limit_per_second
        if rate is None:
            return 0.0
        burst = float(settings.rate_limit_burst or max(1, math.floor(rate)))
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(api_key, (burst, now))
            tokens = min(burst, tokens + (now - stamp) * rate)
            if tokens >= 1:
                self._buckets[api_key] = (tokens - 1, now)
                return 0.0
            self._buckets[api_key] = (tokens, now)
            return (1 - tokens) / rate


class FaultMiddleware:
    """ASGI middleware applying the current `ApiFaults` to `/v1/` requests of known keys.

    Unknown keys pass straight through so that they get the handler's 401, not a 429.
    """

    def __init__(self, app: ASGIApp, *, state: FaultState[ApiFaults], keys: KeyRegistry) -> None:
        self.app = app
        self.state = state
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        settings = self.state.settings
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        api_key = _bearer(scope)
        if api_key is None or self.keys.principal_for(api_key) is None:
            await self.app(scope, receive, send)
            return
        wait = self.state.take_token(api_key)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            await _respond(
                send,
                429,
                {"detail": f"rate limit exceeded; retry after {retry_after}s"},
                [(b"retry-after", retry_after.encode())],
            )
            return
        if self.state.chance(settings.error_rate):
            status = self.state.pick(settings.error_statuses)
            await _respond(send, status, {"detail": "injected fault (sandbox error_rate)"}, [])
            return
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def _respond(
    send: Send, status: int, body: dict[str, object], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
