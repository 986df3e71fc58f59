"""Cursor pagination walks every record exactly once while other clients write."""

from __future__ import annotations

import random
import threading
from collections import Counter

from tests.support.simulators import AcmeSimulator


def test_pagination_walks_every_record_exactly_once_while_writes_happen(
    acme_simulator: AcmeSimulator,
) -> None:
    existing = {acme_simulator.create_customer()["id"] for _ in range(30)}
    stop = threading.Event()
    writes = Counter[str]()

    def write_meanwhile() -> None:
        rng = random.Random(7)
        ids = sorted(existing)
        with acme_simulator.client() as client:
            while not stop.is_set():
                if rng.random() < 0.2:
                    client.post("/v1/customers", json={"name": "created during walk"})
                    writes["created"] += 1
                else:
                    target = rng.choice(ids)
                    client.patch(f"/v1/customers/{target}", json={"phone": str(rng.random())})
                    writes["updated"] += 1

    writer = threading.Thread(target=write_meanwhile)
    writer.start()
    seen: list[str] = []
    try:
        with acme_simulator.client() as client:
            cursor = None
            while True:
                params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
                page = client.get("/v1/customers", params=params).json()
                seen += [c["id"] for c in page["data"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                # Give the writer a real chance to move things between pages.
                while writes.total() < len(seen) // 2:
                    stop.wait(0.01)
    finally:
        stop.set()
        writer.join()

    assert writes["updated"] > 0
    counts = Counter(seen)
    assert [i for i, n in counts.items() if n > 1] == []
    assert existing <= set(seen)


def test_the_change_feed_ends_with_every_record_in_its_newest_state(
    acme_simulator: AcmeSimulator,
) -> None:
    items = [acme_simulator.create_item(f"SKU-{n}", quantity=n)["sku"] for n in range(12)]
    since = acme_simulator.update_item(items[0], quantity=100)["updated_at"]
    newest = {sku: acme_simulator.update_item(sku, quantity=100)["version"] for sku in items[1:4]}
    newest[items[0]] = 2
    with acme_simulator.client() as client:
        page = client.get("/v1/inventory", params={"updated_since": since, "limit": 2}).json()
        latest = {i["sku"]: i["version"] for i in page["data"]}
        # Rewrite a record already returned: it must come back later with its new version.
        acme_simulator.update_item(items[0], quantity=101)
        newest[items[0]] = 3
        for sku in items[5:8]:
            newest[sku] = acme_simulator.update_item(sku, quantity=1)["version"]
        cursor = page["next_cursor"]
        while cursor:
            params = {"updated_since": since, "limit": 2, "cursor": cursor}
            page = client.get("/v1/inventory", params=params).json()
            latest.update({i["sku"]: i["version"] for i in page["data"]})
            cursor = page["next_cursor"]
    assert latest == newest
