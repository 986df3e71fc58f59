"""The relay's route registry as the platform uses it, over the relay's admin API.

It authenticates with the relay's *registrar* token, which may only register, retire,
rotate, pause and resume routes, list them with held-event counts, read a route's
current secret and list its quarantined events (reasons, never payloads): never events,
batches or replay. Used by the Initialization and Teardown
tasks (token from the `webhook_relay` connection) and by the lifecycle service (token from
`INTEGRATION_RELAY_REGISTRAR_TOKEN`). No Airflow import here: the lifecycle runs outside
Airflow too. The token never appears in a repr, an exception or a log line.
"""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

TRANSIENT_STATUSES = (502, 503, 504)


class RelayRegistryError(RuntimeError):
    """The relay refused or failed a registry request; `status` 0 means unreachable."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"relay answered {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail


def _transient(error: BaseException) -> bool:
    return isinstance(error, RelayRegistryError) and (
        error.status == 0 or error.status in TRANSIENT_STATUSES
    )


class RelayRegistrar:
    def __init__(
        self,
        admin_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._client = httpx.Client(
            base_url=f"{self.admin_url}/admin",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"RelayRegistrar({self.admin_url!r}, token=***)"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RelayRegistrar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @retry(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(4),
        wait=wait_exponential(multiplier=0.5, max=4),
        reraise=True,
    )
    def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, json=json)
        except httpx.HTTPError as error:
            raise RelayRegistryError(
                0, f"relay admin API at {self.admin_url} unreachable: {type(error).__name__}"
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text[:200]
            raise RelayRegistryError(response.status_code, str(detail))
        return response.json()

    def register(self, routes: list[str]) -> list[dict[str, Any]]:
        """Idempotent: active routes keep their secret; new ones get one."""
        return self._call("POST", "/routes", {"routes": routes})["routes"]

    def secret(self, route: str) -> str:
        return self._call("GET", f"/routes/{route}/secret")["secret"]

    def retire(self, route: str) -> dict[str, Any]:
        """Retire `route`; an unknown route counts as retired (nothing to discard)."""
        try:
            return self._call("POST", f"/routes/{route}/retire")
        except RelayRegistryError as error:
            if error.status == 404:
                return {"route": route, "result": "unknown", "discarded_events": 0}
            raise

    def set_paused(self, route: str, paused: bool) -> None:
        self._call("POST", f"/routes/{route}/{'pause' if paused else 'resume'}")

    def rotate(
        self, integration: str, instance: str | None = None, overlap_seconds: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"integration": integration, "instance": instance}
        if overlap_seconds is not None:
            body["overlap_seconds"] = overlap_seconds
        return self._call("POST", "/rotate", body)

    def quarantined(self, route: str, limit: int = 100) -> list[dict[str, Any]]:
        """The route's quarantined events, newest first: relay id, webhook id, thin fields,
        `received_at` (epoch seconds) and `reason`; never a payload."""
        return self._call("GET", f"/quarantine?route={route}&limit={limit}")["events"]

    def routes(self, integration: str, instance: str) -> list[dict[str, Any]]:
        """The instance's registered routes: state, paused, held (events not yet sent)."""
        path = f"/routes?integration={integration}&instance={instance}"
        return self._call("GET", path)["routes"]
