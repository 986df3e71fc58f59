"""Replay: re-run an instance's runs that match filters, by clearing them in Airflow."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import TriggerKind
from integration_platform.lifecycle.base import ServiceBase
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.results import Progress, ReplayItem, now, quiet

REPLAYABLE_STATES = ("failed", "success")


class Replay(ServiceBase):
    def replay(
        self,
        instance_id: str,
        *,
        flow: str | None = None,
        state: str = "failed",
        since: datetime | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> list[ReplayItem]:
        """Re-run matching runs by clearing them (failed runs: only their failed tasks).

        Without `flow`, every webhook and scheduled flow; `since` filters on the run's time."""
        report = progress or quiet
        self.get_instance(instance_id)
        if state not in REPLAYABLE_STATES:
            raise InvalidRequest(
                "--state", [FieldError("state", f"must be one of {', '.join(REPLAYABLE_STATES)}")]
            )
        flows = (
            [self.flow(flow)]
            if flow
            else [
                f
                for f in self.integration.flows
                if f.trigger in (TriggerKind.WEBHOOK, TriggerKind.SCHEDULE)
            ]
        )
        items = []
        for selected in flows:
            dag_id = self.integration.dag_id(instance_id, selected.slug)
            if self.airflow.get_dag(dag_id) is None:
                continue
            for run in self.airflow.list_dag_runs(dag_id, states=[state], since=since):
                tasks = self.airflow.clear_dag_run(
                    dag_id, run.run_id, only_failed=state == "failed", dry_run=dry_run
                )
                report(f"{'Would re-run' if dry_run else 'Re-running'} {dag_id} {run.run_id}")
                items.append(
                    ReplayItem(
                        flow=selected.slug,
                        dag_id=dag_id,
                        run_id=run.run_id,
                        state=run.state,
                        tasks=tuple(tasks),
                        dry_run=dry_run,
                    )
                )
        return items


def parse_since(value: str) -> datetime:
    """`--since`: an ISO timestamp (naive = UTC) or a relative `30m`, `6h`, `2d`."""
    match = re.fullmatch(r"(\d+)([mhd])", value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {
            "m": timedelta(minutes=amount),
            "h": timedelta(hours=amount),
            "d": timedelta(days=amount),
        }
        return now() - delta[unit]
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(
            "--since",
            [FieldError("since", "must be an ISO timestamp (2026-01-31T12:00) or 30m / 6h / 2d")],
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
