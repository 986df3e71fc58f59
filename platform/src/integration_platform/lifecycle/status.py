"""Status, pause and resume of an instance (its DAGs and its relay routes), and the webhook
URLs its last deploy returned."""

from __future__ import annotations

from integration_platform.integrations.instances import InstanceState
from integration_platform.integrations.model import TriggerKind
from integration_platform.integrations.webhooks import webhook_urls_of
from integration_platform.lifecycle.drift_status import drift_status
from integration_platform.lifecycle.results import (
    FlowReport,
    InstanceReport,
    Progress,
    RunSummary,
    quiet,
)
from integration_platform.lifecycle.waiting import Waiting


class Status(Waiting):
    def _webhook_urls_of_run(self, dag_id: str, run_id: str) -> dict[str, str]:
        """`webhookUrls` as returned by the run's first task that returned them."""
        for ti in self.airflow.task_instances(dag_id, run_id):
            if ti.state != "success":
                continue
            urls = webhook_urls_of(self.airflow.xcom_return_value(dag_id, run_id, ti.task_id))
            if urls is not None:
                return urls
        return {}

    def webhook_urls(self, instance_id: str) -> dict[str, str]:
        """Webhook URLs from the newest successful Initialization run ({} if none succeeded)."""
        dag_id = self.integration.dag_id(instance_id, self._flow_of(TriggerKind.DEPLOY).slug)
        if self.airflow.get_dag(dag_id) is None:
            return {}
        runs = self.airflow.list_dag_runs(dag_id, states=["success"], limit=1)
        return self._webhook_urls_of_run(dag_id, runs[0].run_id) if runs else {}

    def status(self, instance_id: str, *, recent: int = 5) -> InstanceReport:
        instance = self.get_instance(instance_id)
        urls = self.webhook_urls(instance_id)
        held = self.relay.held(instance_id)
        flows = []
        for flow in self.integration.flows:
            dag_id = self.integration.dag_id(instance_id, flow.slug)
            dag = self.airflow.get_dag(dag_id)
            runs = self.airflow.list_dag_runs(dag_id, limit=recent) if dag else []
            repairs = dag is not None and flow.trigger is TriggerKind.REPAIR
            flows.append(
                FlowReport(
                    slug=flow.slug,
                    name=flow.name,
                    trigger=str(flow.trigger),
                    dag_id=dag_id,
                    exists=dag is not None and not dag.is_stale,
                    paused=dag.is_paused if dag else None,
                    webhook_url=urls.get(flow.slug),
                    held_events=held.get(flow.slug),
                    drift=drift_status(self.airflow, dag_id) if repairs else None,
                    recent_runs=tuple(
                        RunSummary(
                            run_id=r.run_id,
                            state=r.state,
                            run_type=r.run_type,
                            start_date=r.start_date,
                            duration=r.duration,
                            url=self.airflow.run_url(dag_id, r.run_id),
                        )
                        for r in runs
                    ),
                )
            )
        return InstanceReport(instance=instance, flows=tuple(flows))

    def pause(self, instance_id: str, *, progress: Progress | None = None) -> InstanceReport:
        """Pause the instance's routes in the relay, then its DAGs: the relay keeps accepting
        and holds the events, no DAG run is created until `resume`."""
        return self._set_paused(instance_id, True, progress or quiet)

    def resume(self, instance_id: str, *, progress: Progress | None = None) -> InstanceReport:
        """Unpause the DAGs, then the routes: the held events are delivered in batches."""
        return self._set_paused(instance_id, False, progress or quiet)

    def _set_paused(self, instance_id: str, paused: bool, report: Progress) -> InstanceReport:
        instance = self.get_instance(instance_id)
        if paused:  # routes first: no run is created once the DAGs are paused
            self.relay.set_paused(instance_id, True, report)
        for dag_id in self.dag_ids(instance_id).values():
            dag = self.airflow.get_dag(dag_id)
            if dag is not None and dag.is_paused != paused:
                self.airflow.set_paused(dag_id, paused)
        if not paused:  # DAGs first: the held events' runs start at once
            self.relay.set_paused(instance_id, False, report)
        if instance.state in (InstanceState.ACTIVE, InstanceState.PAUSED):
            state = InstanceState.PAUSED if paused else InstanceState.ACTIVE
            if state != instance.state:
                self._save_state(instance, state, reason=None, log_url=None)
        return self.status(instance_id)
