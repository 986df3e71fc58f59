"""The Progix simulator: version-guarded batch upserts, tenants, lists with totals."""

from __future__ import annotations

import httpx

from tests.support.simulators import ProgixSimulator


def customer(external_id: str, version: int, name: str = "Ada") -> dict[str, object]:
    return {"external_id": external_id, "version": version, "name": name}


def test_newer_versions_replace_and_older_or_equal_ones_are_stale(
    progix_simulator: ProgixSimulator,
) -> None:
    assert progix_simulator.batch_upsert("customers", [customer("c1", 2, "v2")]) == [
        {"external_id": "c1", "status": "created", "version": 2}
    ]
    results = progix_simulator.batch_upsert(
        "customers", [customer("c1", 1, "v1"), customer("c2", 1)]
    )
    assert [r["status"] for r in results] == ["stale", "created"]
    assert results[0]["version"] == 2
    assert progix_simulator.batch_upsert("customers", [customer("c1", 2, "again")])[0] == {
        "external_id": "c1",
        "status": "stale",
        "version": 2,
    }
    assert progix_simulator.get("customers", "c1")["name"] == "v2"
    assert progix_simulator.batch_upsert("customers", [customer("c1", 5, "v5")])[0]["status"] == (
        "updated"
    )
    stored = progix_simulator.get("customers", "c1")
    assert (stored["version"], stored["name"]) == (5, "v5")


def test_inventory_is_a_separate_collection(progix_simulator: ProgixSimulator) -> None:
    item = {"external_id": "SKU-1", "version": 1, "name": "Widget", "quantity": 4}
    assert progix_simulator.batch_upsert("inventory", [item])[0]["status"] == "created"
    assert progix_simulator.get("inventory", "SKU-1")["quantity"] == 4
    assert progix_simulator.get("customers", "SKU-1") is None


def test_tenants_do_not_see_each_other(progix_simulator: ProgixSimulator) -> None:
    progix_simulator.batch_upsert("customers", [customer("c1", 1)])
    with progix_simulator.client(progix_simulator.other_api_key) as other:
        assert other.get("/v1/customers/c1").status_code == 404
        assert other.get("/v1/customers").json()["total"] == 0
        created = other.post(
            "/v1/customers:batchUpsert", json={"items": [customer("c1", 1, "Other")]}
        ).json()
    assert created["results"][0]["status"] == "created"
    assert progix_simulator.get("customers", "c1")["name"] == "Ada"


def test_lists_page_through_everything_and_report_the_total(
    progix_simulator: ProgixSimulator,
) -> None:
    progix_simulator.batch_upsert("customers", [customer(f"c{n}", 1) for n in range(25)])
    with progix_simulator.client() as client:
        first = client.get("/v1/customers", params={"limit": 10}).json()
    assert first["total"] == 25
    assert len(first["data"]) == 10
    assert first["next_cursor"] is not None
    assert [c["external_id"] for c in progix_simulator.list_all("customers")] == [
        f"c{n}" for n in range(25)
    ]


def test_an_invalid_item_rejects_the_whole_batch(progix_simulator: ProgixSimulator) -> None:
    with progix_simulator.client() as client:
        response = client.post(
            "/v1/customers:batchUpsert",
            json={"items": [customer("ok", 1), {"external_id": "bad", "version": -1}]},
        )
    assert response.status_code == 422
    locations = [e["loc"] for e in response.json()["detail"]]
    assert ["body", "items", 1, "version"] in locations
    assert ["body", "items", 1, "name"] in locations
    assert progix_simulator.list_all("customers") == []


def test_batch_limits_are_enforced(progix_simulator: ProgixSimulator) -> None:
    with progix_simulator.client() as client:
        too_many = client.post(
            "/v1/customers:batchUpsert",
            json={"items": [customer(f"c{n}", 1) for n in range(501)]},
        )
        twice = client.post(
            "/v1/customers:batchUpsert", json={"items": [customer("c1", 1), customer("c1", 2)]}
        )
        empty = client.post("/v1/customers:batchUpsert", json={"items": []})
    assert too_many.status_code == 422
    assert "at most 500" in too_many.text
    assert twice.status_code == 422
    assert "c1" in twice.text
    assert empty.status_code == 422
    assert progix_simulator.list_all("customers") == []


def test_unknown_key_is_refused(progix_simulator: ProgixSimulator) -> None:
    response = httpx.get(
        f"{progix_simulator.url}/v1/customers", headers={"authorization": "Bearer nope-nope"}
    )
    assert response.status_code == 401


def test_me_names_the_tenant_of_the_calling_key(progix_simulator: ProgixSimulator) -> None:
    with progix_simulator.client() as client:
        assert client.get("/v1/me").json() == {"tenant": progix_simulator.tenant_id}
    with progix_simulator.client(progix_simulator.other_api_key) as client:
        assert client.get("/v1/me").json() == {"tenant": progix_simulator.other_tenant_id}
    with progix_simulator.client("pk_unknown") as client:
        assert client.get("/v1/me").status_code == 401
