"""Acme's batch endpoints over a real socket: one transaction, each change its own event."""

from __future__ import annotations

from tests.support.simulators import AcmeSimulator, WebhookReceiver, new_webhook_secret


def test_a_batch_applies_every_change_as_its_own_version_and_event(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    acme_simulator.create_webhook(
        f"{webhook_receiver.url}/hooks", new_webhook_secret(), events=["customer.updated"]
    )
    existing = acme_simulator.create_customer(name="Ada")
    with acme_simulator.client() as client:
        response = client.post(
            "/v1/customers/batch",
            json={
                "create": [{"name": "Grace"}, {"name": "Alan"}],
                "update": [
                    {"id": existing["id"], "changes": {"phone": "1"}},
                    {"id": existing["id"], "changes": {"phone": "2"}},
                ],
            },
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["name"] for c in body["created"]] == ["Grace", "Alan"]
    assert [(c["phone"], c["version"]) for c in body["updated"]] == [("2", 3)]  # final state

    acme_simulator.wait_deliveries_drained()
    events = [r.json() for r in webhook_receiver.received]
    assert [(e["type"], e["object_id"]) for e in events] == [
        ("customer.updated", existing["id"]),
        ("customer.updated", existing["id"]),
    ]
    assert len({e["id"] for e in events}) == 2


def test_inventory_batch_creates_then_updates_in_order(acme_simulator: AcmeSimulator) -> None:
    with acme_simulator.client() as client:
        response = client.post(
            "/v1/inventory/batch",
            json={
                "create": [{"sku": "SKU-B1", "name": "Bolt", "quantity": 1}],
                "update": [{"sku": "SKU-B1", "changes": {"quantity": 7}}],
            },
        )
    assert response.status_code == 200, response.text
    assert response.json()["updated"][0]["quantity"] == 7
    stored = acme_simulator.list_all("/v1/inventory")
    assert [(i["sku"], i["quantity"], i["version"]) for i in stored] == [("SKU-B1", 7, 2)]


def test_a_batch_naming_an_unknown_record_changes_nothing(acme_simulator: AcmeSimulator) -> None:
    existing = acme_simulator.create_customer(name="Ada")
    with acme_simulator.client() as client:
        response = client.post(
            "/v1/customers/batch",
            json={
                "create": [{"name": "Grace"}],
                "update": [
                    {"id": existing["id"], "changes": {"phone": "1"}},
                    {"id": "cus_missing", "changes": {"phone": "2"}},
                ],
            },
        )
    assert response.status_code == 404
    assert response.json()["detail"] == "customer 'cus_missing' not found"
    customers = acme_simulator.list_all("/v1/customers")
    assert [(c["name"], c["version"]) for c in customers] == [("Ada", 1)]
    assert acme_simulator.stats()["events"] == 1  # only the first create's


def test_a_batch_with_a_duplicate_sku_is_a_conflict_and_changes_nothing(
    acme_simulator: AcmeSimulator,
) -> None:
    with acme_simulator.client() as client:
        response = client.post(
            "/v1/inventory/batch",
            json={"create": [{"sku": "SKU-D", "name": "One"}, {"sku": "SKU-D", "name": "Two"}]},
        )
    assert response.status_code == 409
    assert "SKU-D" in response.json()["detail"]
    assert acme_simulator.list_all("/v1/inventory") == []


def test_empty_and_oversized_batches_are_refused_with_the_reason(
    acme_simulator: AcmeSimulator,
) -> None:
    with acme_simulator.client() as client:
        empty = client.post("/v1/customers/batch", json={})
        too_many = client.post(
            "/v1/customers/batch", json={"create": [{"name": f"C{n}"} for n in range(101)]}
        )
        bad_field = client.post(
            "/v1/customers/batch", json={"update": [{"id": "x", "changes": {"colour": "red"}}]}
        )
    assert empty.status_code == too_many.status_code == bad_field.status_code == 422
    assert "1 to 100 changes in total, got 0" in empty.text
    assert "got 101" in too_many.text
    assert bad_field.json()["detail"][0]["loc"] == ["body", "update", 0, "changes", "colour"]
    assert acme_simulator.list_all("/v1/customers") == []
