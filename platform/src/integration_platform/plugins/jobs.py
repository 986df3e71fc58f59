"""Long lifecycle operations (deploy, remove, test) run in a background thread per instance.

A deploy waits for Airflow to parse DAGs and for Initialization to finish: far longer than a
page request should block. The page starts a job and then polls its progress, which is the
lifecycle service's own progress lines. Jobs live in this API-server process; a poll that
reaches another worker falls back to the instance's state in its file (see `routes`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from integration_platform.lifecycle.errors import LifecycleError

log = logging.getLogger(__name__)

JobKind = Literal["deploying", "removing", "testing"]
Outcome = tuple[bool, str, str]  # (succeeded, message, URL to continue to)
Work = Callable[[Callable[[str], None]], Outcome]


@dataclass
class Job:
    instance_id: str
    kind: JobKind
    steps: list[str] = field(default_factory=list)
    finished: bool = False
    failed: bool = False
    next_url: str = ""

    def snapshot(self) -> dict[str, object]:
        return {
            "instance": self.instance_id,
            "kind": self.kind,
            "steps": list(self.steps),
            "finished": self.finished,
            "failed": self.failed,
            "next_url": self.next_url,
        }


class JobAlreadyRunning(Exception):
    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"{job.instance_id} is already {job.kind}; wait for it to finish")


class JobRegistry:
    """At most one running job per instance; finished jobs stay readable until replaced."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, instance_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(instance_id)

    def start(self, instance_id: str, kind: JobKind, work: Work, *, fallback_url: str) -> Job:
        with self._lock:
            current = self._jobs.get(instance_id)
            if current is not None and not current.finished:
                raise JobAlreadyRunning(current)
            job = Job(instance_id, kind)
            self._jobs[instance_id] = job
        thread = threading.Thread(
            target=self._run,
            args=(job, work, fallback_url),
            name=f"integrations-{kind}-{instance_id}",
            daemon=True,
        )
        thread.start()
        return job

    def _run(self, job: Job, work: Work, fallback_url: str) -> None:
        def progress(line: str) -> None:
            with self._lock:
                job.steps.append(line)

        try:
            succeeded, message, next_url = work(progress)
        except LifecycleError as error:
            succeeded, message, next_url = False, str(error), fallback_url
        except Exception as error:  # a bug must still end the job, not leave it spinning
            log.exception("Integrations %s of %s failed", job.kind, job.instance_id)
            succeeded, message, next_url = (
                False,
                f"unexpected error ({type(error).__name__})",
                fallback_url,
            )
        with self._lock:
            job.steps.append(message)
            job.failed = not succeeded
            job.next_url = next_url
            job.finished = True


JOBS = JobRegistry()
