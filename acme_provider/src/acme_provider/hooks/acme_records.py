"""What the hook knows about Acme's two record resources: their paths and keys, and how a
lookup by key is batched (≤ 100 ids a request) and reports the keys Acme no longer has."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from acme_provider.hooks.acme_api import AcmeRecord, Resource

_RESOURCE_PATHS: dict[str, str] = {"customers": "/v1/customers", "inventory": "/v1/inventory"}
_RESOURCE_KEYS: dict[str, str] = {"customers": "id", "inventory": "sku"}


@dataclass(frozen=True)
class RecordBatch:
    """Records fetched in one request, plus the requested ids Acme no longer has."""

    records: list[AcmeRecord]
    missing: list[str] = field(default_factory=list)


def resource_key(resource: Resource) -> str:
    """The field identifying a record of `resource` (`id` for customers, `sku` for items)."""
    return _RESOURCE_KEYS[_check_resource(resource)]


def resource_path(resource: Resource) -> str:
    """The API path of the resource's list (and of its creates)."""
    return _RESOURCE_PATHS[_check_resource(resource)]


def record_path(resource: Resource, key: Any) -> str:
    """The API path of one record of the resource."""
    return f"{resource_path(resource)}/{quote(str(key), safe='')}"


def webhook_path(webhook_id: str) -> str:
    return f"/v1/webhooks/{quote(str(webhook_id), safe='')}"


def _check_resource(resource: str) -> str:
    if resource not in _RESOURCE_PATHS:
        raise ValueError(f"resource must be one of {sorted(_RESOURCE_PATHS)}, got {resource!r}")
    return resource


def timestamp(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def unique_ids(ids: Iterable[Any]) -> list[str]:
    """Ids as strings, first occurrence kept, blanks dropped."""
    return list(dict.fromkeys(str(i) for i in ids if i is not None and str(i) != ""))
