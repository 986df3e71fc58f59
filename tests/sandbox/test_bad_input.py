"""Bad input gets a specific 4xx and changes nothing (both simulators share these layers)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.simulators import AcmeSimulator, ProgixSimulator, new_webhook_secret


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer sk_unknown_key"}, {"authorization": "Basic dXNlcjpwYXNz"}],
)
def test_missing_or_unknown_keys_get_401(
    acme_simulator: AcmeSimulator, headers: dict[str, str]
) -> None:
    response = httpx.post(f"{acme_simulator.url}/v1/customers", json={"name": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert acme_simulator.stats()["events"] == 0


def test_another_accounts_objects_are_404(acme_simulator: AcmeSimulator) -> None:
    customer = acme_simulator.create_customer(name="Mine")
    acme_simulator.create_item("SKU-MINE")
    hook = acme_simulator.create_webhook("http://127.0.0.1:9/x", new_webhook_secret())
    with acme_simulator.client(acme_simulator.other_api_key) as other:
        answers = [
            other.get(f"/v1/customers/{customer['id']}"),
            other.patch(f"/v1/customers/{customer['id']}", json={"name": "Theirs"}),
            other.get("/v1/inventory/SKU-MINE"),
            other.patch("/v1/inventory/SKU-MINE", json={"quantity": 1}),
            other.get(f"/v1/webhooks/{hook['id']}"),
            other.delete(f"/v1/webhooks/{hook['id']}"),
            other.get(f"/v1/webhooks/{hook['id']}/deliveries"),
        ]
        listed = other.get("/v1/customers", params={"ids": customer["id"]}).json()
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert listed["data"] == []
    with acme_simulator.client() as client:
        assert client.get(f"/v1/customers/{customer['id']}").json()["name"] == "Mine"
        assert client.get(f"/v1/webhooks/{hook['id']}").status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/customers", {"email": "a@b.co"}, "name"),
        ("/v1/customers", {"name": "A", "email": "not-an-email"}, "email"),
        ("/v1/customers", {"name": "A", "colour": "blue"}, "colour"),
        ("/v1/inventory", {"sku": "has space", "name": "A"}, "sku"),
        ("/v1/inventory", {"sku": "S1", "name": "A", "quantity": -1}, "quantity"),
        ("/v1/webhooks", {"url": "ftp://x", "events": ["customer.created"]}, "url"),
        ("/v1/webhooks", {"url": "http://x", "events": ["nope"], "secret": "whsec_"}, "events"),
        (
            "/v1/webhooks",
            {"url": "http://x", "events": ["customer.created"], "secret": "s"},
            "secret",
        ),
    ],
)
def test_invalid_bodies_get_422_naming_the_field(
    acme_simulator: AcmeSimulator, path: str, body: dict[str, object], field: str
) -> None:
    with acme_simulator.client() as client:
        response = client.post(path, json=body)
        assert response.status_code == 422
        assert any(field in e["loc"] for e in response.json()["detail"])
        assert client.get(path).json()["data"] == []


def test_invalid_patches_change_nothing(acme_simulator: AcmeSimulator) -> None:
    customer = acme_simulator.create_customer(name="Ada")
    with acme_simulator.client() as client:
        empty = client.patch(f"/v1/customers/{customer['id']}", json={})
        null_name = client.patch(f"/v1/customers/{customer['id']}", json={"name": None})
        not_json = client.patch(
            f"/v1/customers/{customer['id']}",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        after = client.get(f"/v1/customers/{customer['id']}").json()
    assert [r.status_code for r in (empty, null_name, not_json)] == [422, 422, 422]
    assert after == customer


def oversized_customer() -> bytes:
    return b'{"name": "' + b"x" * (1024 * 1024) + b'"}'


def test_oversized_bodies_get_413(acme_simulator: AcmeSimulator) -> None:
    with acme_simulator.client() as client:
        declared = client.post(
            "/v1/customers",
            content=oversized_customer(),
            headers={"content-type": "application/json"},
        )
        chunked = client.post(
            "/v1/customers",
            content=iter([oversized_customer()[:600_000], oversized_customer()[600_000:]]),
            headers={"content-type": "application/json"},
        )
        assert declared.status_code == 413
        assert chunked.status_code == 413
        assert "larger than 1048576 bytes" in declared.json()["detail"]
        assert client.get("/v1/customers").json()["data"] == []


def test_progix_refuses_oversized_batches_with_413(progix_simulator: ProgixSimulator) -> None:
    with progix_simulator.client() as client:
        response = client.post(
            "/v1/customers:batchUpsert",
            content=b'{"items": [' + b" " * (1024 * 1024) + b"]}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert progix_simulator.list_all("customers") == []
