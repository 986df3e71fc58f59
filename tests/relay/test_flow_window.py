"""The flow window's arithmetic and the reading of Airflow's run and task lists, in-process."""

from __future__ import annotations

import asyncio

from webhook_relay.airflow_client import RunListFailed
from webhook_relay.flow_control import FlowWindow, Observation, RunTracker, diff_states
from webhook_relay.store.dispatch import TrackedRun


def test_window_grows_by_about_one_per_window_of_starts_only_while_it_limits() -> None:
    window = FlowWindow(4, 64, queue_target_s=2)
    window.observe(Observation(started=4), now=0)
    assert window.size == 4  # not limited: demand, not the window, bounded the runs
    window.limited = True
    window.observe(Observation(started=4), now=1)
    assert window.size == 5
    assert window.budget(waiting=3) == 2
    assert window.budget(waiting=9) == 0


def test_window_halves_once_per_target_period_when_runs_queue_too_long() -> None:
    window = FlowWindow(16, 64, queue_target_s=2)
    window.observe(Observation(queued_ages=[5]), now=10)
    assert window.size == 8
    window.observe(Observation(queued_ages=[5]), now=11)  # the same congestion episode
    assert window.size == 8
    window.observe(Observation(queued_ages=[5]), now=12.5)
    assert window.size == 4
    for t in range(20, 40, 3):
        window.observe(Observation(queued_ages=[9]), now=t)
    assert window.size == 1  # never below one run


def test_window_never_exceeds_its_maximum() -> None:
    window = FlowWindow(7, 8, queue_target_s=2)
    window.limited = True
    for t in range(10):
        window.observe(Observation(started=50), now=t)
    assert window.size == 8


def run(batch: str, state: str, since: float) -> TrackedRun:
    return TrackedRun(
        batch, "acme-erp/a/sync-customer-data", "dag_a", f"relay__{batch}", state, since
    )


def test_runs_missing_from_the_unfinished_list_have_finished() -> None:
    tracked = [run("q1", "queued", 95), run("q2", "queued", 90), run("r1", "running", 80)]
    unfinished = {("dag_a", "relay__q1"): "queued", ("dag_a", "relay__q2"): "running"}
    changes, seen = diff_states(tracked, unfinished, now=100)
    assert changes == {"q2": ("queued", "running"), "r1": ("running", None)}
    assert seen.started == 1
    assert seen.queued_ages == [5]
    assert seen.start_delays == [10]  # q2 left the queue, queued since 90


def test_a_run_stuck_in_the_queue_is_not_congestion() -> None:
    """A paused DAG's run waits forever: that says nothing about Airflow's capacity."""
    window = FlowWindow(8, 64, queue_target_s=2)
    window.observe(Observation(queued_ages=[600, 0.5]), now=10)
    assert window.size == 8
    window.observe(Observation(queued_ages=[600, 3]), now=20)
    assert window.size == 4


def test_a_slow_but_idle_airflow_does_not_close_the_window() -> None:
    """Runs that take 5 s to start even one at a time set the base latency: only queueing
    beyond it, by more than the target, is congestion."""
    window = FlowWindow(8, 64, queue_target_s=2)
    window.observe(Observation(started=1, start_delays=[5.0]), now=0)
    window.observe(Observation(queued_ages=[6.5]), now=5)
    assert window.size == 8
    window.observe(Observation(queued_ages=[7.5]), now=10)
    assert window.size == 4
    window.observe(Observation(queued_ages=[0.1]), now=700)  # the measurement aged out
    assert window.base_delay == 0.0


class FakeStore:
    """The two store calls `RunTracker.poll` makes."""

    def __init__(self, tracked: list[TrackedRun]) -> None:
        self.tracked = tracked
        self.recorded: dict[str, tuple[str, str | None]] = {}

    def tracked_runs(self) -> list[TrackedRun]:
        return self.tracked

    def set_run_states(self, changes: dict[str, tuple[str, str | None]], now: float) -> None:
        self.recorded.update(changes)


class AirflowAnswers:
    """Airflow's bulk listings as `RunTracker` reads them: run states, then started tasks."""

    def __init__(self, runs: dict[tuple[str, str], str], started: set | Exception) -> None:
        self.runs, self.started = runs, started
        self.asked_tasks_of: list[tuple[str, str]] = []

    async def unfinished_runs(self, dag_ids):
        return dict(self.runs)

    async def started_runs(self, runs):
        self.asked_tasks_of = sorted(runs)
        if isinstance(self.started, Exception):
            raise self.started
        return self.started


def poll(tracked: list[TrackedRun], airflow: AirflowAnswers) -> tuple[FakeStore, Observation]:
    store = FakeStore(tracked)
    tracker = RunTracker(store, airflow, state_timeout_s=60)  # type: ignore[arg-type]
    return store, asyncio.run(tracker.poll(now=100))


def test_a_running_run_whose_task_waits_for_a_slot_still_counts_as_queued() -> None:
    """Airflow marks a DAG run running before its task has an executor slot: only a started
    task frees the route and counts as a start for the window."""
    tracked = [run("waits", "queued", 90), run("went", "queued", 95), run("r1", "running", 80)]
    airflow = AirflowAnswers(
        {
            ("dag_a", "relay__waits"): "running",
            ("dag_a", "relay__went"): "running",
            ("dag_a", "relay__r1"): "running",
        },
        started={("dag_a", "relay__went")},
    )
    store, seen = poll(tracked, airflow)
    # Only runs not yet seen to start are looked up (r1 started before).
    assert airflow.asked_tasks_of == [("dag_a", "relay__waits"), ("dag_a", "relay__went")]
    assert store.recorded == {"went": ("queued", "running")}
    assert seen.started == 1
    assert seen.queued_ages == [10]  # "waits" has waited since it was sent, at 90


def test_without_task_states_the_run_states_decide() -> None:
    """If the relay's Airflow user may not read task instances, flow control falls back to
    the runs' own states instead of holding every route."""
    tracked = [run("waits", "queued", 90)]
    airflow = AirflowAnswers(
        {("dag_a", "relay__waits"): "running"}, started=RunListFailed("HTTP 403: Forbidden")
    )
    store, seen = poll(tracked, airflow)
    assert store.recorded == {"waits": ("queued", "running")}
    assert seen.started == 1


def test_unreadable_task_states_are_warned_about_once_per_outage(caplog) -> None:
    """The tracker polls four times a second: a missing permission must not flood the log."""
    tracked = [run("waits", "queued", 90)]
    failing = AirflowAnswers(
        {("dag_a", "relay__waits"): "running"}, started=RunListFailed("HTTP 403: Forbidden")
    )
    store = FakeStore(tracked)
    tracker = RunTracker(store, failing, state_timeout_s=60)  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="webhook_relay.flow_control"):
        for _ in range(3):
            asyncio.run(tracker.poll(now=100))
        failing.started = set()
        asyncio.run(tracker.poll(now=101))
    messages = [r.getMessage() for r in caplog.records]
    assert sum("reading task states from Airflow failed" in m for m in messages) == 1
    assert any("works again" in m for m in messages)
