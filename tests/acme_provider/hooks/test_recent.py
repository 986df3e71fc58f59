"""The most recently changed records, from the real Acme simulator's change feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acme_provider.hooks.acme_erp import AcmeErpHook
from acme_provider.hooks.recent import recently_changed_keys
from tests.support.simulators import AcmeSimulator


def test_the_latest_changes_come_first_and_each_once(
    sandbox_hook: AcmeErpHook, acme_simulator: AcmeSimulator
) -> None:
    ids = [acme_simulator.create_customer(name=f"C{n}")["id"] for n in range(5)]
    acme_simulator.update_customer(ids[1], email="newest@example.com")  # now the newest change

    assert recently_changed_keys(sandbox_hook, "customers", 3) == [ids[1], ids[4], ids[3]]
    assert recently_changed_keys(sandbox_hook, "customers", 10)[0] == ids[1]
    assert len(recently_changed_keys(sandbox_hook, "customers", 10)) == 5


def test_items_are_named_by_sku_and_an_empty_source_gives_none(
    sandbox_hook: AcmeErpHook, acme_simulator: AcmeSimulator
) -> None:
    assert recently_changed_keys(sandbox_hook, "inventory", 3) == []
    acme_simulator.create_item("SKU-1", name="One", quantity=1)
    assert recently_changed_keys(sandbox_hook, "inventory", 3) == ["SKU-1"]


def test_older_changes_are_found_through_wider_windows(
    sandbox_hook: AcmeErpHook, acme_simulator: AcmeSimulator
) -> None:
    created = acme_simulator.create_customer(name="Old")["id"]
    later = datetime.now(UTC) + timedelta(days=2)  # every change is older than a day then
    assert recently_changed_keys(sandbox_hook, "customers", 1, now=later) == [created]
    with pytest.raises(ValueError, match="at least 1"):
        recently_changed_keys(sandbox_hook, "customers", 0)
