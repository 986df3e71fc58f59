"""Fetch current Acme ERP records in batches and hand each batch to a callback.

The operator's XCom is a handful of counts; records never leave the worker. `fetch_records`
is the same loop as a plain function, for TaskFlow code.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from airflow.sdk import BaseOperator, Context

from acme_provider.hooks.acme_api import (
    DEFAULT_CONN_NAME,
    MAX_IDS_PER_REQUEST,
    AcmeRecord,
    Resource,
)
from acme_provider.operators.failures import fail_fast_on_permanent_errors

if TYPE_CHECKING:
    from acme_provider.hooks.acme_erp import AcmeErpHook

BatchHandler = Callable[[list[AcmeRecord]], Mapping[str, int] | None]
"""Receives one batch of records (e.g. maps and upserts them); returns counts to add up."""

RESERVED_COUNTS = ("fetched", "missing", "batches")

log = logging.getLogger(__name__)


def normalize_ids(ids: Any) -> list[str] | None:
    """`None`, or the ids as unique strings in first-seen order."""
    if ids is None:
        return None
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise ValueError(
            f"ids must be a list of ids, got {type(ids).__name__}; pass a list or an XComArg "
            "(a Jinja template renders to a string unless the DAG sets "
            "render_template_as_native_obj=True)"
        )
    return list(dict.fromkeys(str(i) for i in ids if i is not None and str(i) != ""))


def normalize_updated_since(value: Any) -> str | None:
    """`None` (or empty), or an ISO 8601 timestamp; anything else is rejected up front."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
        except ValueError:
            pass
    raise ValueError(f"updated_since must be an ISO 8601 timestamp, got {value!r}")


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise ValueError(f"batch_size must be an integer, got {batch_size!r}")
    if not 1 <= batch_size <= MAX_IDS_PER_REQUEST:
        raise ValueError(
            f"batch_size must be between 1 and {MAX_IDS_PER_REQUEST}, got {batch_size}"
        )
    return batch_size


def check_resource(resource: Any) -> Resource:
    if resource not in get_args(Resource):
        raise ValueError(f"resource must be one of {list(get_args(Resource))}, got {resource!r}")
    return resource


def fetch_records(
    hook: AcmeErpHook,
    resource: Resource,
    *,
    on_batch: BatchHandler,
    ids: Any = None,
    updated_since: Any = None,
    batch_size: int = MAX_IDS_PER_REQUEST,
) -> dict[str, int]:
    """Stream `resource` records to `on_batch`; return `fetched`/`missing`/`batches` plus the
    sum of every count `on_batch` returned.

    With `ids`, fetch those records (ids Acme no longer has are counted as `missing`, not an
    error); otherwise page through everything, or everything changed since `updated_since`.
    """
    resource = check_resource(resource)
    keys = normalize_ids(ids)
    since = normalize_updated_since(updated_since)
    if keys is not None and since is not None:
        raise ValueError("pass either ids or updated_since, not both")
    totals: Counter[str] = Counter({name: 0 for name in RESERVED_COUNTS})
    for batch in hook.iter_record_batches(
        resource, ids=keys, updated_since=since, batch_size=check_batch_size(batch_size)
    ):
        totals["batches"] += 1
        totals["fetched"] += len(batch.records)
        totals["missing"] += len(batch.missing)
        if batch.missing:
            log.info(
                "%d requested %s no longer exist in Acme ERP (first: %s)",
                len(batch.missing),
                resource,
                ", ".join(batch.missing[:5]),
            )
        if batch.records:
            _add_counts(totals, on_batch(batch.records))
    return dict(totals)


def _add_counts(totals: Counter[str], counts: Mapping[str, int] | None) -> None:
    for name, value in (counts or {}).items():
        if name in RESERVED_COUNTS:
            raise ValueError(f"on_batch must not return the reserved count {name!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"on_batch returned a non-integer count {name!r}: {value!r}")
        totals[name] += value


class AcmeFetchRecordsOperator(BaseOperator):
    """Fetch current customers or inventory items from Acme ERP and pass them on in batches.

    :param resource: `"customers"` or `"inventory"`.
    :param ids: ids (customers) or skus (inventory) to fetch; de-duplicated. Templated.
    :param updated_since: ISO 8601 timestamp; page through everything changed since then.
        Templated. Without `ids` and `updated_since`, every record is fetched (backfill).
    :param on_batch: called with each batch of records; returns counts (e.g. created/updated/
        stale) that are summed into the result.
    :param batch_size: records per batch and per request (1-100).
    :return: counts only, e.g. `{"fetched": 3, "missing": 1, "batches": 1, "created": 2, ...}`.
    """

    template_fields: Sequence[str] = ("ids", "updated_since")
    ui_color = "#eef7e8"

    def __init__(
        self,
        *,
        resource: Resource,
        on_batch: BatchHandler,
        ids: Any = None,
        updated_since: Any = None,
        batch_size: int = MAX_IDS_PER_REQUEST,
        acme_conn_id: str = DEFAULT_CONN_NAME,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(on_batch):
            raise TypeError("on_batch must be callable: (list of records) -> counts")
        self.resource = check_resource(resource)
        self.on_batch = on_batch
        self.ids = ids
        self.updated_since = updated_since
        self.batch_size = check_batch_size(batch_size)
        self.acme_conn_id = acme_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        from acme_provider.hooks.acme_erp import AcmeErpHook  # at run time: keeps parsing light

        hook = AcmeErpHook(acme_conn_id=self.acme_conn_id)
        with closing(hook), fail_fast_on_permanent_errors():
            counts = fetch_records(
                hook,
                self.resource,
                on_batch=self.on_batch,
                ids=self.ids,
                updated_since=self.updated_since,
                batch_size=self.batch_size,
            )
        self.log.info("Acme %s: %s", self.resource, counts)
        return counts
