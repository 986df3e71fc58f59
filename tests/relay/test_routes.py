"""Routes map to DAG ids by the shared route contract, and only unambiguous routes parse."""

from __future__ import annotations

import pytest

from webhook_relay.routes import InvalidRoute, Route


def test_dag_id_follows_the_design_convention() -> None:
    route = Route.parse("acme-erp/shop-1/sync-customer-data")
    assert route.dag_id == "acme_erp__shop_1__sync_customer_data"
    assert route.path == "acme-erp/shop-1/sync-customer-data"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("acme-erp/shop-1", "INTEGRATION/INSTANCE/FLOW"),
        ("acme-erp/shop-1/sync/extra", "INTEGRATION/INSTANCE/FLOW"),
        ("Acme/shop-1/sync", "integration"),
        ("acme/shop--1/sync", "instance"),
        ("acme/shop_1/sync", "instance"),
        ("acme/shop-1/-sync", "flow"),
        ("acme/shop-1/" + "f" * 64, "flow"),
    ],
)
def test_ambiguous_or_malformed_routes_are_refused(text: str, named: str) -> None:
    with pytest.raises(InvalidRoute, match=named):
        Route.parse(text)
