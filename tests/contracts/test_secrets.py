"""The route secret derivation: known answer, inputs that matter, inputs refused."""

from __future__ import annotations

import pytest

from integration_contracts.secrets import route_secret

# Computed once with `openssl dgst -sha256 -hmac relay-test-key-1 -binary | base64`; the relay
# pins the same vector, so both sides provably derive the same secret.
KNOWN_KEY = "relay-test-key-1"
KNOWN_ROUTE = "acme-erp/shop-1/sync-customer-data"
KNOWN_SECRET = "whsec_Nl3OCtNVhix9MSTy62nA0Hf7wwiGiN+zy8tuww7WaWA="


def test_route_secret_matches_the_known_answer_vector() -> None:
    assert route_secret(KNOWN_KEY, KNOWN_ROUTE) == KNOWN_SECRET


def test_route_secret_depends_on_key_and_route() -> None:
    assert route_secret("relay-test-key-2", KNOWN_ROUTE) != KNOWN_SECRET
    assert route_secret(KNOWN_KEY, "acme-erp/shop-1/sync-inventory-data") != KNOWN_SECRET


@pytest.mark.parametrize(("key", "route"), [("", KNOWN_ROUTE), (KNOWN_KEY, "")])
def test_route_secret_refuses_empty_inputs(key: str, route: str) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        route_secret(key, route)
