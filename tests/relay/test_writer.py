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

from tests.relay.harness import SECRETS_KEY, event_row, migrated_store
from webhook_relay.routes import Route
from webhook_relay.secretbox import SecretBox
from webhook_relay.store.models import events
from webhook_relay.store.repository import Store
from webhook_relay.store.routes_repo import RouteRepository
from webhook_relay.writer import (
    GroupCommitWriter,
    RouteGone,
    RowRefused,
    SqliteGroupWriter,
    StorageUnavailable,
    WriterFull,
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


def test_a_row_the_store_refuses_is_answered_alone_and_its_group_commits(store: Store) -> None:
    """A NOT NULL violation among 40 good rows of one group: only that request is refused
    (the ingest answers 4xx), the other 39 commit, and the next write works."""

    async def body(writer) -> tuple[list[BaseException | bool], bool]:
        rows = [row(f"msg_{i:02d}") for i in range(40)]
        rows[17] = row("msg_bad", payload=None)
        results = await asyncio.gather(*(writer.write(r) for r in rows), return_exceptions=True)
        # A transaction or lock left behind by the failure would make this wait forever.
        return results, await asyncio.wait_for(writer.write(row("msg_after")), timeout=10)

    results, after = asyncio.run(with_writer(store, body))
    assert isinstance(results[17], RowRefused)
    assert "IntegrityError" in str(results[17])
    assert [r for i, r in enumerate(results) if i != 17] == [True] * 39
    assert after is True
    assert stored_ids(store) == sorted(
        [f"msg_{i:02d}" for i in range(40) if i != 17] + ["msg_after"]
    )


def test_a_row_whose_route_was_retired_after_the_lookup_is_refused_and_its_group_commits(
    store: Store,
) -> None:
    """Ingest checked the route while it was active (a cached lookup may be a poll interval
    old), then it was retired: the commit leaves that row out and answers RouteGone (410),
    so nothing lands pending on a route that will never dispatch again."""
    repo = RouteRepository(store, SecretBox([SECRETS_KEY]))
    retired, active = ROUTE, "acme-erp/shop-1/sync-inventory-data"
    repo.register([Route.parse(retired), Route.parse(active)], time.time())
    repo.retire(retired, time.time())

    async def body(writer) -> list[BaseException | bool]:
        rows = [row("msg_late"), event_row(active, "msg_kept"), row("msg_late_2")]
        return await asyncio.gather(*(writer.write(r) for r in rows), return_exceptions=True)

    late, kept, late_again = asyncio.run(with_writer(store, body))
    assert isinstance(late, RouteGone)
    assert isinstance(late_again, RouteGone)
    assert kept is True
    assert stored_ids(store) == ["msg_kept"]


def test_an_unavailable_store_fails_the_group_and_the_writer_recovers(
    sqlite_store: Store,
) -> None:
    """SQLite full (max_page_count reached): the whole group gets StorageUnavailable (503,
    retry later), nothing is refused as bad data, and writes work again once space is back."""
    big = "x" * 20_000

    def page_limit(writer: SqliteGroupWriter, pages: int | None) -> None:
        # max_page_count is per connection: set it on the writer's own one.
        conn = writer._ingest._conn
        count = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages or count}")

    async def body(writer) -> tuple[list[BaseException | bool], bool]:
        await writer.write(row("msg_first"))
        page_limit(writer, None)  # no page left
        results = await asyncio.gather(
            *(writer.write(row(f"msg_{i}", payload=big)) for i in range(5)),
            return_exceptions=True,
        )
        page_limit(writer, 1_000_000)
        return results, await writer.write(row("msg_after", payload=big))

    results, after = asyncio.run(with_writer(sqlite_store, body))
    assert all(type(r) is StorageUnavailable for r in results), results
    assert after is True
    assert stored_ids(sqlite_store) == ["msg_after", "msg_first"]


def test_a_full_queue_sheds_load_instead_of_growing(sqlite_store: Store) -> None:
    async def body(writer) -> list[BaseException | bool]:
        return await asyncio.gather(
            *(writer.write(row(f"msg_{i}")) for i in range(30)), return_exceptions=True
        )

    async def small_queue(body_fn) -> Any:
        writer = event_writer(sqlite_store, max_rows=50, max_queue=10)
        await writer.start()
        try:
            return await body_fn(writer)
        finally:
            await writer.stop()

    results = asyncio.run(small_queue(body))
    assert sum(r is True for r in results) >= 10
    assert any(isinstance(r, WriterFull) for r in results)
    assert len(stored_ids(sqlite_store)) == sum(r is True for r in results)


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
