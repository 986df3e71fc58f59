"""Long API operations (deploy, redeploy, remove, test, replay, bulk deploy) as resources to poll.

Each runs one lifecycle service call in a thread of this API-server process, like the UI's
jobs; its progress lines, outcome and result stay readable (to the user who started it) until
the oldest finished operations are dropped. One running operation per instance: a second
answers 409 at once instead of queueing behind the instance lock. A bulk deploy covers each
instance it names, so it and a single operation on one of them never run at once either.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from integration_platform.lifecycle.errors import LifecycleError

log = logging.getLogger(__name__)

OperationKind = Literal["deploy", "redeploy", "remove", "test", "replay", "bulk-deploy"]
OperationStatus = Literal["running", "succeeded", "failed"]
Result = tuple[bool, str, dict[str, Any]]  # (succeeded, message, result document)
Work = Callable[[Callable[[str], None]], Result]
KEEP_FINISHED = 500


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Operation:
    id: str
    kind: OperationKind
    instance: str
    owner: str
    status: OperationStatus = "running"
    steps: list[str] = field(default_factory=list)
    message: str = ""
    result: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=_now)
    finished_at: datetime | None = None
    covers: frozenset[str] = frozenset()
    """The instances the operation acts on: its own, or a bulk deploy's."""


class OperationRunning(Exception):
    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        what = (
            repr(operation.instance) if operation.instance else ", ".join(sorted(operation.covers))
        )
        super().__init__(
            f"operation {operation.id} ({operation.kind}) of {what} is still "
            "running; poll it and try again when it has finished"
        )


class OperationRegistry:
    def __init__(self, keep_finished: int = KEEP_FINISHED) -> None:
        self._ops: OrderedDict[str, Operation] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep_finished

    def get(self, operation_id: str, owner: str) -> Operation | None:
        """The operation if `owner` started it: another user's id is as good as unknown."""
        with self._lock:
            op = self._ops.get(operation_id)
            return op if op is not None and op.owner == owner else None

    def start(
        self,
        kind: OperationKind,
        instance: str,
        owner: str,
        work: Work,
        covers: frozenset[str] | None = None,
    ) -> Operation:
        """Run `work` in a thread; `OperationRunning` if an instance it `covers` (by default
        just `instance`) is in a running operation."""
        covers = frozenset({instance}) if covers is None else covers
        with self._lock:
            for op in self._ops.values():
                if op.status == "running" and op.covers & covers:
                    raise OperationRunning(op)
            op = Operation(
                id=uuid.uuid4().hex, kind=kind, instance=instance, owner=owner, covers=covers
            )
            self._ops[op.id] = op
            self._drop_old()
        threading.Thread(
            target=self._run, args=(op, work), name=f"api-{kind}-{instance}", daemon=True
        ).start()
        return op

    def _drop_old(self) -> None:
        finished = [k for k, op in self._ops.items() if op.status != "running"]
        for key in finished[: max(0, len(finished) - self._keep)]:
            del self._ops[key]

    def _run(self, op: Operation, work: Work) -> None:
        def progress(line: str) -> None:
            with self._lock:
                op.steps.append(line)

        try:
            ok, message, result = work(progress)
        except LifecycleError as error:
            ok, message, result = False, str(error), {}
        except Exception as error:  # a bug still ends the operation, never leaves it running
            log.exception("API %s of %s failed", op.kind, op.instance)
            ok, message, result = False, f"unexpected error ({type(error).__name__})", {}
        with self._lock:
            op.status = "succeeded" if ok else "failed"
            op.message = message
            op.result = result
            op.finished_at = _now()


OPERATIONS = OperationRegistry()
