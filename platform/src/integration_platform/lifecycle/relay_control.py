"""The lifecycle's hand on the relay and on an instance's runs: pause and resume its routes,
count what the relay holds, rotate its secrets, and drain its runs when it is removed.

Pausing an instance pauses its routes in the relay, so no DAG run is created while it is
paused: events are kept and delivered in batches on resume. Removal stops intake (routes
paused, flow DAGs paused), lets started runs finish for `drain_timeout` seconds, marks the
rest failed with a reason and marks queued runs failed ("cleared"), so nothing of the
instance is queued or running afterwards; its routes are retired by Teardown.

The relay is reached with the registrar token from `LifecycleSettings` (environment only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from integration_platform.integrations import naming
from integration_platform.integrations.model import Integration, TriggerKind
from integration_platform.lifecycle.airflow_api import API, AirflowClient
from integration_platform.lifecycle.errors import LifecycleError
from integration_platform.lifecycle.settings import LifecycleSettings
from integration_platform.relay_client import RelayRegistrar, RelayRegistryError

Progress = Callable[[str], None]
NOT_CONFIGURED = "relay not configured (INTEGRATION_RELAY_URL): its routes were left as they are"


class RelayUnavailable(LifecycleError):
    """The relay refused or could not be reached; nothing further was changed."""


@dataclass(frozen=True)
class DrainResult:
    cleared_queued: int = 0  # queued runs marked failed
    finished_running: int = 0  # running runs that finished within the timeout
    failed_running: int = 0  # running runs marked failed after the timeout


class InstanceRoutes:
    """One integration's instances as routes in the relay."""

    def __init__(self, settings: LifecycleSettings, integration: Integration) -> None:
        self.settings = settings
        self.integration = integration

    @property
    def configured(self) -> bool:
        return bool(self.settings.relay_url and self.settings.relay_registrar_token)

    def routes(self, instance_id: str) -> list[str]:
        return [
            naming.route(self.integration.slug, instance_id, flow.slug)
            for flow in self.integration.flows_triggered_by(TriggerKind.WEBHOOK)
        ]

    def _registrar(self) -> RelayRegistrar:
        return RelayRegistrar(self.settings.relay_url, self.settings.relay_registrar_token)

    def set_paused(self, instance_id: str, paused: bool, report: Progress) -> None:
        """Pause or resume every registered, active route of the instance."""
        if not self.configured:
            report(NOT_CONFIGURED)
            return
        with self._registrar() as registrar:
            for route in self.routes(instance_id):
                try:
                    registrar.set_paused(route, paused)
                except RelayRegistryError as error:
                    if error.status in (404, 410):  # never registered, or retired
                        continue
                    raise RelayUnavailable(f"pausing route {route}: {error}") from None
                report(f"{'Paused' if paused else 'Resumed'} relay route {route}")

    def held(self, instance_id: str) -> dict[str, int]:
        """`{flow slug: events the relay holds (not yet sent to Airflow)}`; {} if unknown."""
        if not self.configured:
            return {}
        try:
            with self._registrar() as registrar:
                rows = registrar.routes(self.integration.slug, instance_id)
        except RelayRegistryError:
            return {}  # status is best effort: the relay being down must not hide Airflow's
        return {row["route"].rsplit("/", 1)[1]: row["held"] for row in rows}

    def quarantined(self, instance_id: str, limit: int) -> dict[str, list[dict]] | None:
        """`{flow slug: the route's quarantined events}`; None if the relay is not configured
        or cannot answer (best effort, as `held`)."""
        if not self.configured:
            return None
        try:
            with self._registrar() as registrar:
                return {
                    route.rsplit("/", 1)[1]: registrar.quarantined(route, limit)
                    for route in self.routes(instance_id)
                }
        except RelayRegistryError:
            return None

    def rotate(self, instance_id: str, overlap_seconds: int | None) -> list[str]:
        if not self.configured:
            raise RelayUnavailable(NOT_CONFIGURED.split(":")[0] + "; cannot rotate secrets")
        try:
            with self._registrar() as registrar:
                return registrar.rotate(self.integration.slug, instance_id, overlap_seconds)[
                    "rotated"
                ]
        except RelayRegistryError as error:
            raise RelayUnavailable(f"rotating the secrets of {instance_id}: {error}") from None


class RunDrain:
    """Empty an instance's flow DAGs of queued and running runs."""

    def __init__(self, airflow: AirflowClient, settings: LifecycleSettings) -> None:
        self.airflow = airflow
        self.settings = settings

    def _runs(self, dag_ids: Iterable[str], states: list[str]) -> list[tuple[str, str]]:
        out = []
        for dag_id in dag_ids:
            if self.airflow.get_dag(dag_id) is None:
                continue
            out += [(dag_id, r.run_id) for r in self.airflow.list_dag_runs(dag_id, states=states)]
        return out

    def _fail(self, dag_id: str, run_id: str, note: str) -> None:
        self.airflow.request(
            "PATCH",
            f"{API}/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            json={"state": "failed", "note": note},
            expected=(200, 404),
        )

    def sweep(self, dag_ids: list[str]) -> int:
        """Mark every queued or running run failed at once (a run created while intake was
        stopping); returns how many."""
        left = self._runs(dag_ids, ["queued", "running"])
        for dag_id, run_id in left:
            self._fail(dag_id, run_id, "cleared: the instance was removed")
        return len(left)

    def drain(self, dag_ids: list[str], report: Progress) -> DrainResult:
        """Clear queued runs now; give running ones `drain_timeout` seconds, then fail them."""
        queued = self._runs(dag_ids, ["queued"])
        for dag_id, run_id in queued:
            self._fail(dag_id, run_id, "cleared: the instance was removed before this run started")
        if queued:
            report(f"Cleared {len(queued)} queued run(s)")
        running = self._runs(dag_ids, ["running"])
        deadline = time.monotonic() + self.settings.drain_timeout
        still = running
        while still and time.monotonic() < deadline:
            report(f"Waiting for {len(still)} running run(s) to finish")
            time.sleep(self.settings.poll_interval)
            still = self._runs(dag_ids, ["running", "queued"])
        for dag_id, run_id in still:
            self._fail(
                dag_id,
                run_id,
                f"marked failed: the instance was removed and the run did not finish within "
                f"{self.settings.drain_timeout:g} s",
            )
        if still:
            report(f"Marked {len(still)} run(s) failed after {self.settings.drain_timeout:g} s")
        return DrainResult(
            cleared_queued=len(queued),
            finished_running=max(0, len(running) - len(still)),
            failed_running=len(still),
        )
