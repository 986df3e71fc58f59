"""Waiting for Airflow: DAGs parsed after a deploy, a run finished, and what a run's tasks did."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

from integration_platform.lifecycle.airflow_api import Dag, DagRun, TaskInstance
from integration_platform.lifecycle.base import ServiceBase
from integration_platform.lifecycle.errors import AirflowUnreachable, LifecycleError
from integration_platform.lifecycle.polling import poll
from integration_platform.lifecycle.results import Progress, RunOutcome, TaskOutcome

REPARSE_EVERY = 15.0
"""Seconds between requests to re-parse an instance's DAG files while waiting for them."""


class Waiting(ServiceBase):
    """Waits on Airflow for the use cases: DAGs parsed, runs finished, and their outcomes."""

    def _reparse_files(self, instance_id: str) -> None:
        """Ask Airflow to re-read the DAG file holding the instance now, instead of at its next
        parse interval. Which factory shard holds a known instance is visible on its DAGs (stale
        ones included); for a new instance, every file of the integration is re-read. A file
        without any DAG yet has no token: Airflow's periodic parse finds it."""
        dags = self.airflow.list_dags(tags=[f"instance:{instance_id}"], include_stale=True)
        if not dags:
            dags = self.airflow.list_dags(tags=[f"integration:{self.integration.slug}"])
        tokens = {dag.fileloc: dag.file_token for dag in dags if dag.file_token}
        for token in tokens.values():
            self.airflow.request_reparse(token)

    def _wait_for_dags(
        self, instance_id: str, *, parsed_after: datetime | None, report: Progress
    ) -> dict[str, Dag] | None:
        """Every flow's DAG, once Airflow has parsed it (after `parsed_after`); None on timeout.
        Re-asks Airflow to parse the instance's files every `REPARSE_EVERY` seconds."""
        wanted = self.dag_ids(instance_id)
        report(f"Waiting for Airflow to parse {len(wanted)} DAGs of {instance_id}")
        self._reparse_files(instance_id)
        next_reparse = [time.monotonic() + REPARSE_EVERY]

        def parsed() -> dict[str, Dag] | None:
            found = self._fresh_dags(wanted, parsed_after, report)
            if found is not None and len(found) == len(wanted):
                return found
            if time.monotonic() >= next_reparse[0]:
                self._reparse_files(instance_id)
                next_reparse[0] = time.monotonic() + REPARSE_EVERY
            return None

        found = poll(
            parsed, timeout=self.settings.dag_timeout, interval=self.settings.poll_interval
        )
        if found is not None:
            report(f"Airflow has parsed the DAGs of {instance_id}")
        return found

    def _fresh_dags(
        self, wanted: Mapping[str, str], parsed_after: datetime | None, report: Progress
    ) -> dict[str, Dag] | None:
        """`{flow slug: DAG}` of the wanted DAGs parsed (after `parsed_after`); None if Airflow
        did not answer."""
        found: dict[str, Dag] = {}
        try:
            for slug, dag_id in wanted.items():
                dag = self.airflow.get_dag(dag_id)
                fresh = dag is not None and not dag.is_stale
                if fresh and parsed_after and dag.last_parsed_time:
                    fresh = dag.last_parsed_time >= parsed_after
                if fresh and dag is not None:
                    found[slug] = dag
        except AirflowUnreachable as error:
            report(f"Airflow is not answering ({error.reason}); still waiting")
            return None
        return found

    def _dags_missing_reason(self, instance_id: str) -> str:
        reason = (
            f"Airflow did not parse the DAGs of {instance_id} within "
            f"{self.settings.dag_timeout:.0f}s"
        )
        errors = self.airflow.import_errors()
        if errors:
            first = errors[0]
            last_line = (first.get("stack_trace") or "").strip().splitlines()[-1:] or [""]
            reason += f"; import error in {first.get('filename')}: {last_line[0]}"
        return reason

    def _unpause(self, dags: Mapping[str, Dag], report: Progress) -> None:
        for dag in dags.values():
            if dag.is_paused:
                self.airflow.set_paused(dag.dag_id, False)
                report(f"Unpaused {dag.dag_id}")

    def _wait_for_run(self, dag_id: str, run_id: str, what: str, report: Progress) -> RunOutcome:
        """Poll until the run finishes (or `run_timeout`), reporting run and task state changes.
        A slow or briefly unreachable Airflow is waited out, not treated as a failure."""
        seen: dict[str, str | None] = {}
        latest: list[DagRun | None] = [None]
        polls = [0]

        def finished() -> DagRun | None:
            try:
                latest[0] = run = self.airflow.get_dag_run(dag_id, run_id)
                if run is not None and run.finished:
                    self._report_states(run_id, run, None, what, report, seen)
                    return run
                with_tasks = run is not None and polls[0] % 3 == 0
                self._report_states(run_id, run, dag_id if with_tasks else None, what, report, seen)
            except AirflowUnreachable as error:
                report(f"Airflow is not answering ({error.reason}); still waiting")
            polls[0] += 1
            return None

        run = poll(
            finished, timeout=self.settings.run_timeout, interval=self.settings.poll_interval
        )
        if run is not None:
            return self._run_outcome(run)
        return RunOutcome(
            dag_id=dag_id,
            run_id=run_id,
            state=latest[0].state if latest[0] else "missing",
            url=self.airflow.run_url(dag_id, run_id),
            tasks=self._task_outcomes(dag_id, run_id) if latest[0] else (),
            timed_out=True,
        )

    def _report_states(
        self,
        run_id: str,
        run: DagRun | None,
        tasks_of: str | None,
        what: str,
        report: Progress,
        seen: dict[str, str | None],
    ) -> None:
        """Report the run's state, and its tasks' (when `tasks_of` names the DAG), if changed."""
        state = run.state if run else "missing"
        if seen.get("") != state:
            report(f"{what} run {run_id}: {state}")
            seen[""] = state
        if run is not None and tasks_of is not None:
            for ti in self.airflow.task_instances(tasks_of, run_id):
                if ti.state and seen.get(ti.task_id) != ti.state:
                    report(f"  task {ti.task_id}: {ti.state}")
                    seen[ti.task_id] = ti.state

    def _task_outcomes(self, dag_id: str, run_id: str) -> tuple[TaskOutcome, ...]:
        return tuple(
            self._task_outcome(dag_id, run_id, ti)
            for ti in self.airflow.task_instances(dag_id, run_id)
        )

    def _task_outcome(self, dag_id: str, run_id: str, ti: TaskInstance) -> TaskOutcome:
        return TaskOutcome(
            task_id=ti.task_id,
            state=ti.state,
            duration=ti.duration,
            log_url=self.airflow.task_log_url(dag_id, run_id, ti.task_id),
            try_number=ti.try_number,
        )

    def _failure(self, outcome: RunOutcome, what: str) -> tuple[str, str]:
        """Why a run failed, with the failed task's exception when its log is readable."""
        task = outcome.failed_task
        error = None
        if task is not None and task.state == "failed" and task.try_number:
            try:
                error = self.airflow.task_error(
                    outcome.dag_id, outcome.run_id, task.task_id, task.try_number
                )
            except LifecycleError:
                error = None  # the reason without the exception is still worth recording
        return outcome.failure_reason(what, error)

    def _run_outcome(self, run: DagRun) -> RunOutcome:
        return RunOutcome(
            dag_id=run.dag_id,
            run_id=run.run_id,
            state=run.state,
            url=self.airflow.run_url(run.dag_id, run.run_id),
            tasks=self._task_outcomes(run.dag_id, run.run_id),
        )
