"""The Acme ERP API's record shapes, limits and default connection id.

Kept apart from `AcmeErpHook` so that operators and DAG files can name them without importing
the HTTP client (`requests` alone costs ~0.1 s, paid by every worker parsing a DAG file).
"""

from __future__ import annotations

from typing import Any, Literal

DEFAULT_CONN_NAME = "acme_erp_default"

Resource = Literal["customers", "inventory"]
AcmeRecord = dict[str, Any]
"""A customer or inventory item as Acme returns it (always has `version` and `updated_at`)."""
WebhookSubscription = dict[str, Any]
"""A webhook subscription: `id`, `url`, `events`, `metadata`, `enabled`, timestamps."""

MAX_IDS_PER_REQUEST = 100
DEFAULT_PAGE_SIZE = 100
