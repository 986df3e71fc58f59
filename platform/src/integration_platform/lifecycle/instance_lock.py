"""One deploy or remove at a time per instance, across processes (the CLI, the UI plugin).

Two deploys of one instance at once would both take the next generation and race on its
file, connections and Initialization run. An exclusive `flock` on a per-instance lock file
beside the instance files serialises them; the second caller is told at once rather than
queued behind a run that can take minutes. The kernel drops the lock if a process dies.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from integration_platform.integrations.naming import is_valid_instance_id
from integration_platform.lifecycle.errors import InstanceBusy

LOCKS_DIR = ".locks"


@contextmanager
def instance_lock(instances_dir: Path, instance_id: str) -> Iterator[None]:
    """Hold `instance_id`'s lock for the block; raise `InstanceBusy` if another holds it.

    An id that is not a valid instance id takes no lock (it names no file; the operation
    itself reports it).
    """
    if not is_valid_instance_id(instance_id):
        yield
        return
    directory = instances_dir / LOCKS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{instance_id}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InstanceBusy(instance_id) from None
        yield
