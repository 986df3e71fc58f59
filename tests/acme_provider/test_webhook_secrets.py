from __future__ import annotations

import re

from acme_provider.webhook_secrets import secret_fingerprint
from tests.support.route_secrets import route_secret

# A fixed route secret (the relay generates real ones at random).
KNOWN_KEY = "relay-test-key-1"
KNOWN_ROUTE = "acme-erp/shop-1/sync-customer-data"
KNOWN_SECRET = "whsec_Nl3OCtNVhix9MSTy62nA0Hf7wwiGiN+zy8tuww7WaWA="


def test_fingerprint_is_short_stable_hex_and_reveals_nothing() -> None:
    fingerprint = secret_fingerprint(KNOWN_SECRET)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert fingerprint == "dad661f6be4d862a"
    assert fingerprint not in KNOWN_SECRET
    assert secret_fingerprint(route_secret("other-key", KNOWN_ROUTE)) != fingerprint
