"""Group commit: the rows of many concurrent requests go into one transaction, and each
request is acknowledged only after its row is committed.

One fsync'd commit per request caps ingest at a few thousand requests/s; one commit per
group keeps durability-before-ack at a fraction of the cost. Two writers, one per backend:

- `SqliteGroupWriter` inserts each group on the event loop and leaves only the blocking
  steps (waiting for the write lock, COMMIT's fsync) to a helper thread. Measured with
  benchmarks/relay_ingest.py's load (32 connections, 1 KB events, this 2-core machine):
  about 16k events/s at 58 µs of CPU each, against 12k/s at 95 µs for a thread that runs
  the whole transaction, because each row's `sqlite3_step` there handed the GIL back and
  forth with the event loop.
- `GroupCommitWriter` runs the whole transaction in a thread (PostgreSQL: the driver waits
  on the network without the GIL, so the thread costs the event loop little).

One bad row never fails its group: when a group's insert fails for a reason other than the
store being unavailable, the group is split in halves, each committed on its own, until the
row the store refuses is alone; only that request gets `RowRefused` (a 4xx), the others
commit. An unavailable store (disk full, connection lost) fails the group as a whole with
`StorageUnavailable` (503: retry later). A row whose route was retired after ingest looked
it up is left out of the commit and answered `RouteGone` (410), so a retire discards every
event it could see and nothing arrives after it. Both writers hold at most `max_queue` waiting rows;
beyond that `WriterFull` (503 with Retry-After) sheds load instead of growing memory.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import sqlite3
import threading
from typing import Any, Protocol

from sqlalchemy import exc as sa_exc

from webhook_relay.store.repository import Store
from webhook_relay.store.statements import Inserted

log = logging.getLogger(__name__)

_STOP = object()

Row = dict[str, Any]
Group = list[tuple[Row, "asyncio.Future[bool]"]]


class StorageUnavailable(RuntimeError):
    """The commit failed; the request must not be acknowledged."""


class WriterFull(StorageUnavailable):
    """Too many rows wait for a commit already; the sender should retry shortly."""


class RowRefused(ValueError):
    """The store refused this row on its own (its group committed without it)."""


class RouteGone(LookupError):
    """The row's route was retired between ingest's registry check and the commit."""


_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    OSError,
)


def is_unavailable(exc: BaseException) -> bool:
    """The store could not take any row now (as opposed to refusing one row's data)."""
    return isinstance(exc, _UNAVAILABLE)


class EventWriter(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def alive(self) -> bool:
        """False once the writer can no longer commit anything (the process must restart)."""
        ...

    async def write(self, row: Row) -> bool:
        """Store `row`; True if it was new, False if (route, webhook_id) already existed."""
        ...


def event_writer(store: Store, *, max_rows: int, max_queue: int = 20_000) -> EventWriter:
    """The writer that suits the store's backend."""
    if store.engine.dialect.name == "sqlite":
        return SqliteGroupWriter(store, max_rows=max_rows, max_queue=max_queue)
    return GroupCommitWriter(store, max_rows=max_rows, max_queue=max_queue)


class SqliteGroupWriter:
    """One task on the event loop commits groups one after another; requests that arrive
    while a group commits form the next group."""

    def __init__(self, store: Store, *, max_rows: int = 1000, max_queue: int = 20_000) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_queue = max_queue
        self._pending: Group = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._helper = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="relay-sqlite-commit"
        )
        self._ingest = self.store.sqlite_ingest()
        self._task = asyncio.create_task(self._run(), name="relay-sqlite-writer")

    async def stop(self) -> None:
        """Commit what is pending, then close."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._helper.shutdown()
        self._ingest.close()

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def write(self, row: Row) -> bool:
        if len(self._pending) >= self.max_queue:
            raise WriterFull(f"{len(self._pending)} events wait for a commit")
        future = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                try:
                    await self._commit_next_group()
                except Exception:  # a bug here must not leave later requests waiting
                    log.exception("the ingest writer failed a group unexpectedly")
            if self._stopping:
                return

    async def _commit_next_group(self) -> None:
        try:
            await self._in_helper(self._ingest.begin)
        except Exception as exc:
            # Rows that arrived while waiting for the lock join the group either way.
            self._fail(self._take_group(), exc, "starting a transaction")
            return
        await self._insert_and_commit(self._take_group())

    async def _insert_and_commit(self, group: Group) -> None:
        """Insert and commit `group` in the transaction already begun."""
        try:
            inserted = self._ingest.insert([row for row, _ in group])
        except Exception as exc:
            await self._in_helper(self._ingest.rollback)
            await self._isolate(group, exc)
            return
        try:
            await self._in_helper(self._ingest.commit)
        except Exception as exc:
            self._fail(group, exc, "committing")
            return
        _resolve_all(group, inserted)

    async def _isolate(self, group: Group, exc: Exception) -> None:
        """Commit each half of a failed group on its own until the refused row is alone."""
        if is_unavailable(exc):
            self._fail(group, exc, "inserting")
            return
        if len(group) == 1:
            _refuse(group, exc)
            return
        middle = len(group) // 2
        for half in (group[:middle], group[middle:]):
            try:
                await self._in_helper(self._ingest.begin)
            except Exception as begin_exc:
                self._fail(half, begin_exc, "starting a transaction")
                continue
            await self._insert_and_commit(half)

    async def _in_helper(self, step: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._helper, step)

    def _take_group(self) -> Group:
        group = self._pending[: self.max_rows]
        del self._pending[: self.max_rows]
        return group

    @staticmethod
    def _fail(group: Group, exc: Exception, step: str) -> None:
        log.error("%s %d events failed: %s", step, len(group), exc, exc_info=exc)
        _fail_all(group, StorageUnavailable(type(exc).__name__))


class GroupCommitWriter:
    """A thread takes whatever requests are queued as one group and commits it."""

    def __init__(self, store: Store, *, max_rows: int = 1000, max_queue: int = 20_000) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_queue = max_queue
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relay-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join, 30)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def write(self, row: Row) -> bool:
        if self._queue.qsize() >= self.max_queue:
            raise WriterFull(f"{self._queue.qsize()} events wait for a commit")
        future = asyncio.get_running_loop().create_future()
        self._queue.put((row, future))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            while len(group) < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                group.append(item)
            try:
                self._commit(group)
            except Exception:  # a bug here must not leave these requests waiting
                log.exception("the ingest writer failed a group unexpectedly")
                self._call(_fail_all, group, StorageUnavailable("writer error"))
            if stop:
                return

    def _commit(self, group: Group) -> None:
        """Commit `group`; on a refused row, each half on its own (see the module doc)."""
        try:
            inserted = self.store.insert_events([row for row, _ in group])
        except Exception as exc:
            if is_unavailable(exc):
                log.error("committing %d events failed: %s", len(group), exc, exc_info=exc)
                self._call(_fail_all, group, StorageUnavailable(type(exc).__name__))
            elif len(group) == 1:
                self._call(_refuse, group, exc)
            else:
                middle = len(group) // 2
                self._commit(group[:middle])
                self._commit(group[middle:])
            return
        self._call(_resolve_all, group, inserted)

    @staticmethod
    def _call(callback: Any, group: Group, arg: Any) -> None:
        group[0][1].get_loop().call_soon_threadsafe(callback, group, arg)


def _resolve_all(group: Group, inserted: Inserted) -> None:
    new_keys = inserted.new_keys
    for row, future in group:
        if future.done():
            continue
        if row["route"] in inserted.retired:
            future.set_exception(RouteGone(row["route"]))
        else:
            key = (row["route"], row["webhook_id"])
            # The first of two identical deliveries in one group claims "new".
            is_new = key in new_keys
            new_keys.discard(key)
            future.set_result(is_new)


def _refuse(group: Group, exc: Exception) -> None:
    """Answer the one row the store refused; its values stay out of the log."""
    log.warning("the store refused an event: %s", type(exc).__name__)
    _fail_all(group, RowRefused(f"the store refused this event ({type(exc).__name__})"))


def _fail_all(group: Group, exc: Exception) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(exc)
