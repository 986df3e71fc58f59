"""Replay: re-run an instance's past runs, chosen by flow, state, time and event.

Two ways to re-run, because they answer different questions:

- `tasks` clears the matching runs in place (a failed run re-runs only its failed tasks, a
  successful one all of them). Works for every webhook and scheduled flow.
- `events` (webhook flows only) sends the matching runs' original thin events again, as new
  runs of at most `batch_size` events, with run ids `replay__<key>` (`RunKind.REPLAY`). Each new
  run's conf carries `replay_of` (the DAG and run ids it replays) and its note says the same,
  so Airflow's UI and the Integrations page show where it came from.
- `quarantined` (webhook flows only) does the same with only the events each run set aside
  (`replay_set_aside`), once their cause is fixed.

A dry run lists exactly the runs (and, for `events`, the events and new batches) a real
replay would touch, and changes nothing. At most `max_runs` runs match; more is an error
naming the count, so a broad filter never floods Airflow.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from integration_contracts.events import EVENTS_CONF_KEY
from integration_contracts.runs import RunKind, run_id
from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import Flow, TriggerKind
from integration_platform.lifecycle.airflow_api import DagRun
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.replay_set_aside import runs_with_set_aside
from integration_platform.lifecycle.results import Progress, ReplayItem, now, quiet
from integration_platform.lifecycle.waiting import Waiting

if TYPE_CHECKING:
    from integration_platform.lifecycle.service import InstanceService

ReplayMode = Literal["tasks", "events", "quarantined"]
REPLAY_MODES: tuple[ReplayMode, ...] = ("tasks", "events", "quarantined")
REPLAYABLE_STATES = ("failed", "success")
REPLAY_OF_KEY = "replay_of"
DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_RUNS = 500
SOURCE = "replay"


@dataclass(frozen=True)
class ReplayFilter:
    """Which runs to replay; `event_type` / `object_id` match a webhook run's thin events."""

    flow: str | None = None
    state: str = "failed"
    since: datetime | None = None
    until: datetime | None = None
    event_type: str | None = None
    object_id: str | None = None

    @property
    def by_event(self) -> bool:
        return bool(self.event_type or self.object_id)

    def event_matches(self, event: Any) -> bool:
        if not isinstance(event, Mapping):
            return False
        return (not self.event_type or event.get("type") == self.event_type) and (
            not self.object_id or event.get("object_id") == self.object_id
        )


@dataclass(frozen=True)
class ReplayRun:
    """A run the replay made (or, dry, would make): its id, its events and what it replays."""

    flow: str
    dag_id: str
    run_id: str
    replays: tuple[str, ...]
    events: int
    created: bool
    state: str | None = None
    url: str = ""


@dataclass(frozen=True)
class ReplayReport:
    instance_id: str
    mode: ReplayMode
    dry_run: bool
    items: tuple[ReplayItem, ...] = ()
    new_runs: tuple[ReplayRun, ...] = field(default_factory=tuple)


def replay_note(dag_id: str, run_ids: Sequence[str]) -> str:
    """The run note linking a replay run to what it replays (Airflow notes are markdown)."""
    shown = ", ".join(f"`{r}`" for r in run_ids[:5])
    more = f" and {len(run_ids) - 5} more" if len(run_ids) > 5 else ""
    return f"Replay of {dag_id} run(s) {shown}{more}"


def _bad(field_name: str, reason: str) -> InvalidRequest:
    return InvalidRequest(f"--{field_name.replace('_', '-')}", [FieldError(field_name, reason)])


def check_request(
    flows: Sequence[Flow], mode: str, filters: ReplayFilter, batch_size: int, max_runs: int
) -> None:
    """Bad filters are refused before anything is read or changed."""
    if filters.state not in REPLAYABLE_STATES:
        raise _bad("state", f"must be one of {', '.join(REPLAYABLE_STATES)}")
    if mode not in REPLAY_MODES:
        raise _bad("mode", f"must be one of {', '.join(REPLAY_MODES)}")
    if filters.since and filters.until and filters.until < filters.since:
        raise _bad("until", "must not be before --since")
    if not 1 <= batch_size <= 1000:
        raise _bad("batch_size", "must be between 1 and 1000")
    if max_runs < 1:
        raise _bad("max_runs", "must be at least 1")
    not_webhook = [f.slug for f in flows if f.trigger is not TriggerKind.WEBHOOK]
    if not_webhook and (mode != "tasks" or filters.by_event):
        raise _bad(
            "flow",
            f"{', '.join(not_webhook)} receive no events: event filters and --mode "
            f"{mode if mode != 'tasks' else 'events'} apply to webhook flows only",
        )


def _run_events(run: DagRun) -> list[Mapping[str, Any]]:
    events = run.conf.get(EVENTS_CONF_KEY) if isinstance(run.conf, Mapping) else None
    return [e for e in events if isinstance(e, Mapping)] if isinstance(events, list) else []


def _matching_runs(
    service: InstanceService, dag_id: str, filters: ReplayFilter
) -> list[tuple[DagRun, list[Mapping[str, Any]]]]:
    """Runs of `dag_id` that match, oldest first, each with its matching events."""
    runs = service.airflow.list_dag_runs(
        dag_id, states=[filters.state], since=filters.since, newest_first=False
    )
    matched = []
    for run in runs:
        when = run.queued_at or run.start_date
        if filters.until and when and when > filters.until:
            continue
        events = [e for e in _run_events(run) if filters.event_matches(e)]
        if filters.by_event and not events:
            continue
        matched.append((run, events))
    return matched


def _event_key(event: Mapping[str, Any]) -> tuple[Any, ...]:
    if event.get("id"):
        return ("id", event["id"])
    return ("fields", event.get("type"), event.get("object_id"), event.get("occurred_at"))


def _batches(
    items: Iterable[ReplayItem], size: int
) -> list[tuple[list[Mapping[str, Any]], list[str]]]:
    """Unique events in run order, `size` per batch, each with the run ids they came from."""
    seen: set[tuple[Any, ...]] = set()
    batches: list[tuple[list[Mapping[str, Any]], list[str]]] = []
    for item in items:
        for event in item.events:
            key = _event_key(event)
            if key in seen:
                continue
            seen.add(key)
            if not batches or len(batches[-1][0]) >= size:
                batches.append(([], []))
            events, sources = batches[-1]
            events.append(dict(event))
            if item.run_id not in sources:
                sources.append(item.run_id)
    return batches


def _replay_run_id(dag_id: str, token: str, index: int, events: Sequence[Mapping]) -> str:
    """Derived from the replay's token and the batch's content: a retried trigger is a 409."""
    digest = hashlib.sha256(dag_id.encode())
    for event in events:
        digest.update(repr(_event_key(event)).encode())
    return run_id(RunKind.REPLAY, f"{token}_{index + 1}_{digest.hexdigest()[:8]}")


@dataclass
class Replayer:
    """One replay of one instance; `service` supplies the Airflow client and the definition."""

    service: InstanceService
    instance_id: str
    mode: ReplayMode
    filters: ReplayFilter
    token: str
    batch_size: int = DEFAULT_BATCH_SIZE
    max_runs: int = DEFAULT_MAX_RUNS
    wait: bool = False
    report: Callable[[str], None] = lambda _line: None

    def flows(self) -> list[Flow]:
        if self.filters.flow:
            return [self.service.flow(self.filters.flow)]
        kinds = (
            (TriggerKind.WEBHOOK,)
            if self.mode != "tasks" or self.filters.by_event
            else (
                TriggerKind.WEBHOOK,
                TriggerKind.SCHEDULE,
            )
        )
        return [f for f in self.service.integration.flows if f.trigger in kinds]

    def run(self, *, dry_run: bool) -> ReplayReport:
        self.service.get_instance(self.instance_id)
        flows = self.flows()
        check_request(flows, self.mode, self.filters, self.batch_size, self.max_runs)
        items: list[ReplayItem] = []
        new_runs: list[ReplayRun] = []
        plan = [(flow, self._dag_id(flow), self._select(flow)) for flow in flows]
        total = sum(len(matched) for _, _, matched in plan)
        if total > self.max_runs:
            raise _bad(
                "max_runs",
                f"{total} runs match, more than {self.max_runs}: narrow the filters "
                "(--flow, --since, --until, --event-type, --object-id) or raise --max-runs",
            )
        self.report(f"{total} run(s) match")
        for flow, dag_id, matched in plan:
            if self.mode == "tasks":
                items += self._clear(flow, dag_id, matched, dry_run)
            else:
                if self.mode == "quarantined":
                    matched = runs_with_set_aside(
                        self.service.airflow, dag_id, matched, self.filters
                    )
                flow_items = [
                    self._item(flow, dag_id, run, (), events, dry_run) for run, events in matched
                ]
                items += flow_items
                new_runs += self._resend(flow, dag_id, flow_items, dry_run)
        return ReplayReport(self.instance_id, self.mode, dry_run, tuple(items), tuple(new_runs))

    def _dag_id(self, flow: Flow) -> str:
        return self.service.integration.dag_id(self.instance_id, flow.slug)

    def _select(self, flow: Flow) -> list[tuple[DagRun, list[Mapping[str, Any]]]]:
        dag_id = self._dag_id(flow)
        if self.service.airflow.get_dag(dag_id) is None:
            return []
        return _matching_runs(self.service, dag_id, self.filters)

    def _item(
        self,
        flow: Flow,
        dag_id: str,
        run: DagRun,
        tasks: Sequence[str],
        events: Sequence,
        dry: bool,
    ) -> ReplayItem:
        return ReplayItem(
            flow=flow.slug,
            dag_id=dag_id,
            run_id=run.run_id,
            state=run.state,
            tasks=tuple(tasks),
            dry_run=dry,
            mode=self.mode,
            events=tuple(events),
        )

    def _clear(
        self, flow: Flow, dag_id: str, matched: Sequence[tuple[DagRun, list]], dry_run: bool
    ) -> list[ReplayItem]:
        """Clear each run (only its failed tasks when it failed); note who re-ran it."""
        airflow, items = self.service.airflow, []
        only_failed = self.filters.state == "failed"
        for index, (run, events) in enumerate(matched, start=1):
            tasks = airflow.clear_dag_run(dag_id, run.run_id, only_failed=only_failed, dry_run=True)
            if not dry_run:
                airflow.clear_dag_run(dag_id, run.run_id, only_failed=only_failed, dry_run=False)
                self._note(
                    dag_id, run.run_id, f"Re-run by replay `{self.token}` ({len(tasks)} task(s))"
                )
            verb = "Would re-run" if dry_run else "Re-running"
            self.report(
                f"[{index}/{len(matched)}] {verb} {dag_id} {run.run_id}: {', '.join(tasks)}"
            )
            items.append(self._item(flow, dag_id, run, tasks, events, dry_run))
        if self.wait and not dry_run:
            for item in items:
                self.service._wait_for_run(dag_id, item.run_id, flow.name, self.report)
        return items

    def _resend(
        self, flow: Flow, dag_id: str, items: Sequence[ReplayItem], dry_run: bool
    ) -> list[ReplayRun]:
        """The items' events again, `batch_size` per new run, one batch after another."""
        airflow, made = self.service.airflow, []
        batches = _batches(items, self.batch_size)
        for index, (events, sources) in enumerate(batches):
            new_id = _replay_run_id(dag_id, self.token, index, events)
            url = airflow.run_url(dag_id, new_id)
            step = f"[{index + 1}/{len(batches)}] {dag_id} {new_id}: {len(events)} event(s)"
            if dry_run:
                self.report(f"Would trigger {step}")
                made.append(
                    ReplayRun(
                        flow.slug, dag_id, new_id, tuple(sources), len(events), False, url=url
                    )
                )
                continue
            conf = {
                EVENTS_CONF_KEY: events,
                REPLAY_OF_KEY: {"dag_id": dag_id, "run_ids": sources, "replay": self.token},
            }
            run, created = airflow.trigger_dag_run(
                dag_id, new_id, conf, note=replay_note(dag_id, sources)
            )
            self.report(f"Triggered {step}" if created else f"Already triggered {step}")
            state = run.state
            if self.wait:
                state = self.service._wait_for_run(dag_id, new_id, flow.name, self.report).state
            made.append(
                ReplayRun(
                    flow.slug, dag_id, new_id, tuple(sources), len(events), created, state, url
                )
            )
        return made

    def _note(self, dag_id: str, run_id_: str, note: str) -> None:
        path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id_, safe='')}"
        self.service.airflow.request(
            "PATCH", path, params={"update_mask": "note"}, json={"note": note}
        )


class Replay(Waiting):
    """The service's replay use case (see the module docstring)."""

    def replay(
        self,
        instance_id: str,
        *,
        flow: str | None = None,
        state: str = "failed",
        since: datetime | None = None,
        until: datetime | None = None,
        event_type: str | None = None,
        object_id: str | None = None,
        mode: str = "tasks",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_runs: int = DEFAULT_MAX_RUNS,
        wait: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ReplayReport:
        """Re-run matching runs: clear them (`mode="tasks"`; failed runs re-run only their
        failed tasks) or re-send their events as new `replay__` runs (`mode="events"`).

        Without `flow`, every webhook and scheduled flow (webhook flows only for events)."""
        filters = ReplayFilter(
            flow=flow,
            state=state,
            since=since,
            until=until,
            event_type=event_type,
            object_id=object_id,
        )
        replayer = Replayer(
            self,  # type: ignore[arg-type]  # the InstanceService this mixin is part of
            instance_id,
            mode,  # type: ignore[arg-type]  # checked by the replayer
            filters,
            token=f"{now().strftime('%Y%m%dT%H%M%S')}_{secrets.token_hex(3)}",
            batch_size=batch_size,
            max_runs=max_runs,
            wait=wait,
            report=progress or quiet,
        )
        return replayer.run(dry_run=dry_run)
