"""Background jobs: progress lines, outcomes, and one job per instance at a time."""

from __future__ import annotations

import threading

import pytest

from integration_platform.lifecycle.errors import UnknownName
from integration_platform.plugins.jobs import Job, JobAlreadyRunning, JobRegistry
from tests.support.polling import wait_until


def _wait_finished(job: Job, timeout: float = 5.0) -> None:
    wait_until(lambda: job.finished, timeout=timeout, what="the job to finish", interval=0.01)


def test_progress_lines_then_the_outcome():
    def work(progress):
        progress("Wrote shop-1.yaml")
        progress("Initialization run deploy__generation_1: success")
        return (
            True,
            "shop-1 deployed (generation 1)",
            "/integrations/instances/shop-1?notice=deployed",
        )

    job = JobRegistry().start("shop-1", "deploying", work, fallback_url="/x")
    _wait_finished(job)
    snapshot = job.snapshot()
    assert snapshot["steps"] == [
        "Wrote shop-1.yaml",
        "Initialization run deploy__generation_1: success",
        "shop-1 deployed (generation 1)",
    ]
    assert snapshot["failed"] is False
    assert snapshot["next_url"] == "/integrations/instances/shop-1?notice=deployed"


def test_a_lifecycle_error_fails_the_job_with_its_message():
    def work(progress):
        raise UnknownName("instance", "shop-9", ["shop-1"])

    job = JobRegistry().start("shop-9", "removing", work, fallback_url="/integrations/")
    _wait_finished(job)
    assert job.failed
    assert job.steps == ["no instance 'shop-9'; valid instances: shop-1"]
    assert job.next_url == "/integrations/"


def test_a_bug_still_ends_the_job_without_leaking_its_message():
    def work(progress):
        raise RuntimeError("password=hunter2")

    job = JobRegistry().start("shop-1", "deploying", work, fallback_url="/x")
    _wait_finished(job)
    assert job.failed
    assert job.steps == ["unexpected error (RuntimeError)"]


def test_one_running_job_per_instance():
    release = threading.Event()

    def work(progress):
        release.wait(5)
        return True, "done", "/x"

    registry = JobRegistry()
    first = registry.start("shop-1", "deploying", work, fallback_url="/x")
    with pytest.raises(JobAlreadyRunning, match="shop-1 is already deploying"):
        registry.start("shop-1", "removing", work, fallback_url="/x")
    other = registry.start("shop-2", "deploying", work, fallback_url="/x")
    release.set()
    _wait_finished(first)
    _wait_finished(other)
    again = registry.start("shop-1", "removing", work, fallback_url="/x")
    _wait_finished(again)
    assert registry.get("shop-1") is again
