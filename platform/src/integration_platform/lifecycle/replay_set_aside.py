"""`replay --mode quarantined`: the events a webhook flow's runs set aside, re-sent.

A run records the events it could not use as its XCom `quarantined_events` (their indexes in
the run's conf, see `integrations.events`). Once the cause is fixed (the flow handles that
event type now, a sender's bug is corrected upstream), re-sending exactly those events as new
`replay__` runs syncs them; an event that is still unusable is set aside again by the new
run, with its reason, and never fails it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integration_contracts.events import EVENTS_CONF_KEY
from integration_platform.integrations.events import SET_ASIDE_XCOM_KEY
from integration_platform.lifecycle.airflow_api import AirflowClient, DagRun

if TYPE_CHECKING:
    from integration_platform.lifecycle.replay import ReplayFilter

MAX_RECORDS_PER_RUN = 10  # XComs of one key in one run: one per task (and map index)


def set_aside_indexes(airflow: AirflowClient, dag_id: str, run_id: str) -> list[int]:
    """Conf indexes of the events `run_id` set aside, in conf order (none: [])."""
    indexes: set[int] = set()
    for _run, _task, value in airflow.xcom_values(
        dag_id, SET_ASIDE_XCOM_KEY, MAX_RECORDS_PER_RUN, run_id=run_id
    ):
        for record in value if isinstance(value, list) else []:
            index = record.get("index") if isinstance(record, Mapping) else None
            if isinstance(index, int) and not isinstance(index, bool):
                indexes.add(index)
    return sorted(indexes)


def set_aside_events(
    airflow: AirflowClient, dag_id: str, run: DagRun, filters: ReplayFilter
) -> list[Mapping[str, Any]]:
    """The events of `run`'s conf it set aside that match `filters` (an event that is not
    even an object cannot be re-sent usefully and is left out)."""
    conf = run.conf if isinstance(run.conf, Mapping) else {}
    events = conf.get(EVENTS_CONF_KEY)
    if not isinstance(events, list):
        return []
    chosen = [events[i] for i in set_aside_indexes(airflow, dag_id, run.run_id) if i < len(events)]
    return [e for e in chosen if isinstance(e, Mapping) and filters.event_matches(e)]


def runs_with_set_aside(
    airflow: AirflowClient,
    dag_id: str,
    matched: Sequence[tuple[DagRun, list[Mapping[str, Any]]]],
    filters: ReplayFilter,
) -> list[tuple[DagRun, list[Mapping[str, Any]]]]:
    """The matched runs that set events aside, each with those events (others dropped)."""
    found = [(run, set_aside_events(airflow, dag_id, run, filters)) for run, _ in matched]
    return [(run, events) for run, events in found if events]
