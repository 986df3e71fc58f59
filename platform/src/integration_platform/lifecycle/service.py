"""The instance lifecycle as a Python API, shared by the `integrations` CLI and the UI plugin.

    service = InstanceService(LifecycleSettings.from_env())      # or InstanceService.from_env()

    service.validate(instance_id, request)                 -> DeployPlan     (no side effects)
    service.deploy(instance_id, request, progress=cb, force=False)
                                                           -> DeployResult   (outcome deployed |
                                                              unchanged | failed; force re-runs
                                                              Initialization on purpose)
    service.rotate(instance_id, overlap_seconds=None)      -> DeployResult   (new relay secrets,
                                                              then Initialization)
    service.remove(instance_id, progress=cb)               -> RemoveResult   (removed True/False,
                                                              discarded events, cleared runs)
    service.list_instances()                               -> list[Instance]
    service.broken_instance_files()                        -> list[InstanceFileError]
    service.get_instance(instance_id)                      -> Instance  (UnknownName if none)
    service.find_instance(instance_id)                     -> Instance | None
    service.webhook_urls(instance_id)                      -> {flow slug: URL} (last good init)
    service.dag_ids(instance_id)                           -> {flow slug: DAG id}
    service.flow(slug)                                     -> Flow      (UnknownName if none)
    service.status(instance_id, recent=5)                  -> InstanceReport (flows, DAG ids,
                                                              paused, webhook URLs, recent runs,
                                                              drift: last check and repair)
    service.pause(instance_id) / service.resume(instance_id) -> InstanceReport
    service.test_flow(instance_id, flow, payload=None, progress=cb) -> FlowTestResult
    service.replay(instance_id, flow=None, state="failed", since=None, dry_run=False)
                   (also until, event_type, object_id, mode="tasks"|"events"|"quarantined",
                   batch_size, max_runs, wait)             -> replay.ReplayReport
    service.quarantined(instance_id, limit=50)             -> quarantine.QuarantineReport
                                                              (events the relay and the
                                                              flows' runs set aside, reasons)

`request` is a `request.DeployRequest` (`DeployRequest.from_mapping(data, source="UI form")`
builds one from a form). `progress` is any `Callable[[str], None]`; it receives one short
human line per step and never a secret.

Errors (all `errors.LifecycleError`, each with an `exit_code`): `InvalidRequest` (names the
source and every bad field; nothing was changed), `UnknownName` (lists the valid instances or
flows), `AirflowUnreachable` / `AirflowAuthError`, `AirflowApiError`, `InstanceBusy` (another
deploy or remove of the instance is running, from the CLI or the UI). A failed initialization
or teardown is *not* an exception: the result says `failed`, with the reason and a task log URL,
and the instance file records it (state `failed`) so a later deploy or remove retries.

Airflow is reached only through its REST API v2.
"""

from __future__ import annotations

from integration_platform.lifecycle.deploy import Deploy
from integration_platform.lifecycle.flow_test import FlowTest
from integration_platform.lifecycle.quarantine import Quarantine, QuarantineReport
from integration_platform.lifecycle.remove import Remove
from integration_platform.lifecycle.replay import (
    REPLAYABLE_STATES,
    Replay,
    ReplayReport,
    ReplayRun,
)
from integration_platform.lifecycle.results import (
    DeployOutcome,
    DeployResult,
    DriftCheck,
    DriftStatus,
    FlowReport,
    FlowTestResult,
    InstanceReport,
    Progress,
    RemoveResult,
    ReplayItem,
    RunOutcome,
    RunSummary,
    TaskOutcome,
)
from integration_platform.lifecycle.since import parse_since

__all__ = [
    "REPLAYABLE_STATES",
    "DeployOutcome",
    "DeployResult",
    "DriftCheck",
    "DriftStatus",
    "FlowReport",
    "FlowTestResult",
    "InstanceReport",
    "InstanceService",
    "Progress",
    "QuarantineReport",
    "RemoveResult",
    "ReplayItem",
    "ReplayReport",
    "ReplayRun",
    "RunOutcome",
    "RunSummary",
    "TaskOutcome",
    "parse_since",
]


class InstanceService(Deploy, Remove, FlowTest, Replay, Quarantine):
    """Deploy, inspect and remove instances of one integration (by default the only one
    installed; name it when several are). Each use case lives in its own module; this class
    only puts them together behind one object, as the CLI and the UI use it."""
