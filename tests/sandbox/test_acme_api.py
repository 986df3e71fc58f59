"""The Acme ERP simulator's REST API over a real socket: records, versions, lists, webhooks."""

from __future__ import annotations

from datetime import datetime

from tests.support.simulators import AcmeSimulator, new_webhook_secret


def test_customer_writes_bump_version_and_updated_at(acme_simulator: AcmeSimulator) -> None:
    created = acme_simulator.create_customer(name="Ada", email="ada@example.com")
    assert created["id"].startswith("cus_")
    assert created["version"] == 1
    updated = acme_simulator.update_customer(created["id"], company="Analytical Engines")
    assert updated["version"] == 2
    assert updated["company"] == "Analytical Engines"
    assert updated["email"] == "ada@example.com"  # untouched by the PATCH
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        created["updated_at"]
    )
    with acme_simulator.client() as client:
        fetched = client.get(f"/v1/customers/{created['id']}").json()
    assert fetched == updated


def test_inventory_is_keyed_by_sku_and_refuses_a_second_create(
    acme_simulator: AcmeSimulator,
) -> None:
    acme_simulator.create_item("SKU-1", name="Widget", warehouse="PAR-1", quantity=3)
    updated = acme_simulator.update_item("SKU-1", quantity=5)
    assert (updated["sku"], updated["quantity"], updated["version"]) == ("SKU-1", 5, 2)
    with acme_simulator.client() as client:
        again = client.post("/v1/inventory", json={"sku": "SKU-1", "name": "Other"})
        assert again.status_code == 409
        assert client.get("/v1/inventory/SKU-1").json()["name"] == "Widget"


def test_ids_filter_returns_only_the_asked_records(acme_simulator: AcmeSimulator) -> None:
    customers = [acme_simulator.create_customer() for _ in range(5)]
    wanted = [customers[1]["id"], customers[3]["id"], "cus_does_not_exist"]
    found = acme_simulator.list_all("/v1/customers", ids=",".join(wanted))
    assert [c["id"] for c in found] == wanted[:2]


def test_more_than_100_ids_is_refused(acme_simulator: AcmeSimulator) -> None:
    with acme_simulator.client() as client:
        response = client.get("/v1/customers", params={"ids": ",".join(["x"] * 101)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "ids"]


def test_updated_since_lists_changes_in_write_order(acme_simulator: AcmeSimulator) -> None:
    first, second, third = (acme_simulator.create_customer() for _ in range(3))
    since = acme_simulator.update_customer(second["id"], phone="1")["updated_at"]
    acme_simulator.update_customer(first["id"], phone="2")
    changed = acme_simulator.list_all("/v1/customers", updated_since=since, limit=1)
    assert [(c["id"], c["version"]) for c in changed] == [(second["id"], 2), (first["id"], 2)]
    assert third["id"] not in {c["id"] for c in changed}


def test_a_cursor_is_refused_by_another_listing(acme_simulator: AcmeSimulator) -> None:
    for _ in range(3):
        acme_simulator.create_customer()
    with acme_simulator.client() as client:
        cursor = client.get("/v1/customers", params={"limit": 1}).json()["next_cursor"]
        mixed = client.get(
            "/v1/customers", params={"cursor": cursor, "updated_since": "2000-01-01T00:00:00Z"}
        )
        garbage = client.get("/v1/customers", params={"cursor": "not-a-cursor"})
    assert mixed.status_code == 422
    assert garbage.status_code == 422
    assert garbage.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_webhook_crud_never_returns_the_secret(acme_simulator: AcmeSimulator) -> None:
    secret = new_webhook_secret()
    created = acme_simulator.create_webhook(
        "http://127.0.0.1:9/hooks/a",
        secret,
        events=["customer.created"],
        metadata={"instance": "acme-1", "flow": "sync-customer-data"},
    )
    assert created["secret_set"] is True
    with acme_simulator.client() as client:
        patched = client.patch(
            f"/v1/webhooks/{created['id']}", json={"events": ["customer.updated"]}
        ).json()
        listed = client.get("/v1/webhooks").text
        fetched = client.get(f"/v1/webhooks/{created['id']}").text
        deleted = client.delete(f"/v1/webhooks/{created['id']}")
        after = client.get(f"/v1/webhooks/{created['id']}")
    assert patched["events"] == ["customer.updated"]
    assert patched["metadata"] == {"instance": "acme-1", "flow": "sync-customer-data"}
    for body in (str(created), str(patched), listed, fetched):
        assert secret not in body
        assert secret.removeprefix("whsec_") not in body
    assert deleted.status_code == 204
    assert after.status_code == 404


def test_openapi_documents_the_api(acme_simulator: AcmeSimulator) -> None:
    with acme_simulator.client() as client:
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert docs.status_code == 200
    for path in (
        "/v1/customers",
        "/v1/customers/{customer_id}",
        "/v1/inventory",
        "/v1/inventory/{sku}",
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}",
        "/v1/webhooks/{webhook_id}/deliveries",
    ):
        assert path in spec["paths"]
