"""Integrations are discovered through the `integration_platform.integrations` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from acme_erp_integration.definition import ACME_ERP
from audit_log_integration.definition import AUDIT_LOG
from integration_platform import registry


def test_every_installed_integration_is_registered_by_its_slug() -> None:
    found = registry.integrations()
    assert found["acme-erp"] is ACME_ERP
    assert found["audit-log"] is AUDIT_LOG
    assert registry.get_integration("audit-log") is AUDIT_LOG


def test_an_unknown_slug_lists_the_installed_ones() -> None:
    with pytest.raises(KeyError, match="unknown integration 'nope'; known: acme-erp, audit-log"):
        registry.get_integration("nope")


def test_with_several_installed_the_caller_must_name_one() -> None:
    assert registry.resolve_integration("acme-erp") is ACME_ERP
    with pytest.raises(KeyError, match="name the integration; installed: acme-erp, audit-log"):
        registry.resolve_integration(None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("crm", "acme_erp_integration.definition:ACME_ERP", "must be named after the slug"),
        ("acme-erp", "acme_erp_integration.definition:SYNC_CUSTOMERS", "is not an Integration"),
    ],
)
def test_a_wrong_entry_point_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    """A broken third-party registration: a mismatch no installed distribution produces."""
    fake = [EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry, "entry_points", lambda group: fake)
    registry._load.cache_clear()
    try:
        with pytest.raises(registry.RegistryError, match=message):
            registry.integrations()
    finally:
        monkeypatch.undo()
        registry._load.cache_clear()
