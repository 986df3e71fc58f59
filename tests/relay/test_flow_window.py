"""The flow window's arithmetic and the reading of Airflow's run list, in-process."""

from __future__ import annotations

from webhook_relay.flow_control import FlowWindow, Observation, diff_states
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
