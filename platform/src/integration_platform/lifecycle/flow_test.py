"""Test one flow of an instance now: the tutorial's "Save & Run Test"."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from integration_contracts.runs import RunKind, run_kind
from integration_platform.integrations import naming
from integration_platform.integrations.config import FieldError
from integration_platform.integrations.instances import InstanceState
from integration_platform.integrations.model import TriggerKind
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.results import FlowTestResult, Progress, now, quiet
from integration_platform.lifecycle.run_counts import run_counts
from integration_platform.lifecycle.samples import check_payload, sample_payload
from integration_platform.lifecycle.waiting import Waiting


class FlowTest(Waiting):
    def test_flow(
        self,
        instance_id: str,
        flow_slug: str,
        *,
        payload: Mapping[str, Any] | None = None,
        payload_source: str = "payload",
        progress: Progress | None = None,
    ) -> FlowTestResult:
        """Run one flow of an instance now (webhook flows with sample or given thin events)."""
        report = progress or quiet
        self.get_instance(instance_id)
        flow = self.flow(flow_slug)
        if flow.trigger is TriggerKind.REMOVE:
            raise InvalidRequest(
                "flow",
                [FieldError(flow.slug, "deletes the instance's webhooks; use `remove` instead")],
            )
        conf = (
            sample_payload(flow)
            if payload is None
            else check_payload(flow, payload, source=payload_source)
        )
        dag_id = self.integration.dag_id(instance_id, flow.slug)
        dag = self.airflow.get_dag(dag_id)
        if dag is None or dag.is_stale:
            raise InvalidRequest(
                "flow", [FieldError(flow.slug, f"DAG {dag_id} is not in Airflow; deploy first")]
            )
        paused = dag.is_paused
        if paused and self.get_instance(instance_id).state is not InstanceState.PAUSED:
            raise InvalidRequest(
                "flow", [FieldError(flow.slug, f"DAG {dag_id} is paused; resume {instance_id}")]
            )
        stamp = now().strftime("%Y%m%dT%H%M%S")
        run_id = naming.test_run_id(stamp, secrets.token_hex(4))
        self.airflow.trigger_dag_run(dag_id, run_id, conf, note="test-flow")
        report(f"Triggered {flow.name} run {run_id}")
        if paused:
            # A paused instance's relay routes hold its events, so no relay run waits on this
            # DAG: unpausing it only while the test runs lets the test run and nothing else.
            report(f"{instance_id} is paused: running the test with its events still held")
            self.airflow.set_paused(dag_id, False)
        try:
            outcome = self._wait_for_run(dag_id, run_id, flow.name, report)
        finally:
            if paused:
                self.airflow.set_paused(dag_id, True)
        return FlowTestResult(
            instance_id=instance_id,
            flow=flow.slug,
            conf=conf,
            run=outcome,
            counts=run_counts(self.airflow, outcome),
        )

    def flow_test_result(self, instance_id: str, flow_slug: str, run_id: str) -> FlowTestResult:
        """A test run seen again (the UI's result page): its tasks and counts, from Airflow."""
        self.get_instance(instance_id)
        flow = self.flow(flow_slug)
        dag_id = self.integration.dag_id(instance_id, flow.slug)
        run = self.airflow.get_dag_run(dag_id, run_id)
        if run is None or run_kind(run_id) is not RunKind.TEST:
            raise InvalidRequest(
                "run", [FieldError(run_id, f"no test run {run_id!r} of {flow.slug}")]
            )
        outcome = self._run_outcome(run)
        return FlowTestResult(
            instance_id=instance_id,
            flow=flow.slug,
            conf=run.conf,
            run=outcome,
            counts=run_counts(self.airflow, outcome) if run.finished else {},
        )
