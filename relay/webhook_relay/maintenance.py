"""Background upkeep of a relay process: periodic pruning, and a writer watchdog.

Pruning runs in a thread, one small transaction at a time (`store.retention`), so ingest
waits at most one of them. The watchdog turns a dead ingest writer into a process exit:
/healthz already fails, and a supervisor (systemd, Docker, Kubernetes) restarts the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable

from webhook_relay.settings import RelaySettings
from webhook_relay.store.repository import Store

log = logging.getLogger(__name__)


async def prune_periodically(store: Store, settings: RelaySettings, stop: asyncio.Event) -> None:
    """Apply the retention policy every `prune_interval_seconds` until `stop` is set."""
    interval = settings.prune_interval_seconds
    if interval <= 0:
        return
    policy = settings.retention_policy
    while not stop.is_set():
        try:
            done = await asyncio.to_thread(store.prune, time.time(), policy)
            if any(done.values()):
                log.info("pruned: %s", done)
        except Exception:
            log.exception("pruning failed; trying again in %.0f s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def watch_writer(alive: Callable[[], bool], stop: asyncio.Event, every: float = 1.0) -> None:
    """Ask the process to exit (SIGTERM, a clean shutdown) once the writer is dead."""
    while not stop.is_set():
        if not alive():
            log.critical("the ingest writer stopped; exiting so a supervisor restarts the relay")
            os.kill(os.getpid(), signal.SIGTERM)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
