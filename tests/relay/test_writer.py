"""The group-commit writers, in-process against real stores: what each acknowledgement
means, and what a failure or a busy store does to the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.relay.harness import event_row, migrated_store
from webhook_relay.store.models import events
from webhook_relay.store.repository import Store
from webhook_relay.writer import (
    GroupCommitWriter,
    SqliteGroupWriter,
    StorageUnavailable,
    event_writer,
)

ROUTE = "acme-erp/shop-1/sync-customer-data"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with migrated_store(f"sqlite:///{tmp_path / 'relay.db'}") as store:
        yield store


def row(webhook_id: str, **overrides: Any) -> dict[str, Any]:
    return event_row(ROUTE, webhook_id, **overrides)


def stored_ids(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(events.c.webhook_id)).scalars())


async def with_writer(store: Store, body) -> Any:
    writer = event_writer(store, max_rows=50)
    await writer.start()
    try:
        return await body(writer)
    finally:
        await writer.stop()


def test_each_backend_gets_its_writer(store: Store) -> None:
    expected = SqliteGroupWriter if store.engine.dialect.name == "sqlite" else GroupCommitWriter
    assert isinstance(event_writer(store, max_rows=10), expected)


def test_concurrent_writes_are_stored_once_each_and_duplicates_say_so(store: Store) -> None:
    """120 writes in flight at once (several groups of at most 50), one id sent three times."""
    ids = [f"msg_{i:03d}" for i in range(117)] + ["msg_000", "msg_001", "msg_001"]

    async def body(writer) -> list[bool]:
        return await asyncio.gather(*(writer.write(row(i)) for i in ids))

    results = asyncio.run(with_writer(store, body))
    assert sum(results) == 117
    assert [i for i, new in zip(ids, results, strict=True) if not new] == [
        "msg_000",
        "msg_001",
        "msg_001",
    ]
    assert stored_ids(store) == sorted(set(ids))


def test_a_failed_group_is_not_acknowledged_and_the_writer_recovers(store: Store) -> None:
    """A NOT NULL violation fails the group's transaction: nothing of it is stored, the
    caller gets StorageUnavailable (the ingest answers 503), and the next write works."""

    async def body(writer) -> tuple[BaseException | bool, bool]:
        bad = row("msg_bad", payload=None)
        [failed] = await asyncio.gather(writer.write(bad), return_exceptions=True)
        # A transaction or lock left behind by the failure would make this wait forever.
        return failed, await asyncio.wait_for(writer.write(row("msg_after")), timeout=10)

    failure, after = asyncio.run(with_writer(store, body))
    assert isinstance(failure, StorageUnavailable)
    assert after is True
    assert stored_ids(store) == ["msg_after"]


def test_a_busy_sqlite_store_delays_acknowledgements_but_never_blocks_the_event_loop(
    sqlite_store: Store,
) -> None:
    """Another writer of this process (the dispatcher) holds SQLite's write transaction for
    0.5 s: writes wait for it, while the event loop keeps serving other work."""
    store = sqlite_store
    held = threading.Event()

    def hold_write_transaction() -> None:
        with store._write() as conn:
            conn.execute(select(func.count()).select_from(events))
            held.set()
            time.sleep(0.5)

    async def body(writer) -> tuple[float, int]:
        holder = asyncio.create_task(asyncio.to_thread(hold_write_transaction))
        await asyncio.to_thread(held.wait)
        started = time.monotonic()
        write = asyncio.create_task(writer.write(row("msg_waits")))
        ticks = 0
        while not write.done():
            await asyncio.sleep(0.01)
            ticks += 1
        assert await write is True
        await holder
        return time.monotonic() - started, ticks

    waited, ticks = asyncio.run(with_writer(store, body))
    assert waited >= 0.4
    assert ticks >= 20  # the loop ran its timers all along (0.01 s each)
    assert stored_ids(store) == ["msg_waits"]
