"""Run-time work of the Acme ERP flows: fetch current records, map them, upsert into Progix.

Records stay inside the task: batches of at most 100 stream from Acme through the mapping
into Progix, and only counts come back (the task's XCom).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from acme_erp_integration.errors import ProgixApiError
from acme_erp_integration.mapping import MappingError, Resource, to_progix
from acme_provider.hooks.acme_api import MAX_IDS_PER_REQUEST
from acme_provider.operators.failures import fail_fast_on_permanent_errors as provider_fail_fast
from acme_provider.operators.records import fetch_records
from integration_platform.integrations.events import QuarantinedEvent, changed_objects

if TYPE_CHECKING:
    from acme_erp_integration.progix import ProgixHook

UPSERT_COUNTS = ("created", "updated", "stale", "filtered", "invalid")
log = logging.getLogger(__name__)


@contextmanager
def fail_fast_on_permanent_errors() -> Iterator[None]:
    """The provider's permanent-error rule, plus records this integration cannot map and
    Progix answers that retrying cannot change (4xx other than 429)."""
    try:
        with provider_fail_fast(MappingError):
            yield
    except ProgixApiError as error:
        if error.is_retryable:
            raise
        raise AirflowFailException(str(error)) from error


class UpsertToProgix:
    """An `on_batch` callback: map one batch of Acme records and batch-upsert it into Progix."""

    def __init__(
        self,
        resource: Resource,
        *,
        progix_conn_id: str,
        warehouses: Collection[str] = (),
        skip_invalid: bool = False,
    ) -> None:
        self.resource = resource
        self.progix_conn_id = progix_conn_id
        self.warehouses = tuple(warehouses)
        self.skip_invalid = skip_invalid
        self._hook: ProgixHook | None = None

    def __call__(self, records: list[dict[str, Any]]) -> dict[str, int]:
        batch = to_progix(
            self.resource, records, warehouses=self.warehouses, skip_invalid=self.skip_invalid
        )
        for reason in batch.invalid:
            log.warning("skipped a record Progix cannot take: %s", reason)
        counts = dict.fromkeys(UPSERT_COUNTS, 0)
        counts["filtered"] = batch.filtered
        counts["invalid"] = len(batch.invalid)
        if batch.items:
            counts.update(self.hook.batch_upsert(self.resource, batch.items).as_counts())
        return counts

    @property
    def hook(self) -> ProgixHook:
        if self._hook is None:
            from acme_erp_integration.progix import ProgixHook  # run time only: keeps parsing light

            self._hook = ProgixHook(http_conn_id=self.progix_conn_id)
        return self._hook

    def __repr__(self) -> str:
        return f"UpsertToProgix({self.resource!r}, progix_conn_id={self.progix_conn_id!r})"


@dataclass(frozen=True)
class SyncOptions:
    """What an instance's config decides about one resource's sync."""

    warehouses: tuple[str, ...] = ()  # inventory only; empty = every warehouse
    page_size: int = MAX_IDS_PER_REQUEST  # records per Acme request (`sync_page_size`)
    skip_invalid: bool = False  # `invalid_records: skip`

    @classmethod
    def of(cls, config: Mapping[str, Any], resource: Resource) -> SyncOptions:
        warehouses = tuple(config.get("warehouses") or ()) if resource == "inventory" else ()
        return cls(
            warehouses=warehouses,
            page_size=int(config.get("sync_page_size") or MAX_IDS_PER_REQUEST),
            skip_invalid=config.get("invalid_records") == "skip",
        )

    def upsert(self, resource: Resource, progix_conn_id: str) -> UpsertToProgix:
        return UpsertToProgix(
            resource,
            progix_conn_id=progix_conn_id,
            warehouses=self.warehouses,
            skip_invalid=self.skip_invalid,
        )


def sync_records(
    resource: Resource,
    *,
    acme_conn_id: str,
    progix_conn_id: str,
    ids: Iterable[str] | None = None,
    options: SyncOptions | None = None,
) -> dict[str, int]:
    """Fetch the given records (or all of them) from Acme and upsert them into Progix."""
    from acme_provider.hooks.acme_erp import AcmeErpHook  # at run time: keeps parsing light

    options = options or SyncOptions()
    upsert = options.upsert(resource, progix_conn_id)
    hook = AcmeErpHook(acme_conn_id=acme_conn_id)
    try:
        with fail_fast_on_permanent_errors():
            counts = fetch_records(
                hook, resource, on_batch=upsert, ids=ids, batch_size=options.page_size
            )
    finally:
        hook.close()
    return {**dict.fromkeys(UPSERT_COUNTS, 0), **counts}


def sync_events(
    resource: Resource,
    events: Any,
    *,
    event_types: Collection[str],
    acme_conn_id: str,
    progix_conn_id: str,
    options: SyncOptions | None = None,
    set_aside: Callable[[Sequence[QuarantinedEvent]], None] | None = None,
) -> dict[str, int]:
    """A webhook flow's run: de-duplicate the events' object ids, then `sync_records` them.

    Returns `{events, objects, quarantined, fetched, missing, batches, created, updated,
    stale, filtered, invalid}`. Events the flow cannot use are quarantined (logged with their
    reason, handed to `set_aside` before anything is synced, so they are recorded even if the
    sync then fails) and every valid event is still synced; only a conf that is not a list
    fails the run.
    """
    try:
        changed = changed_objects(events, event_types)
    except ValueError as error:
        raise AirflowFailException(str(error)) from None
    for bad in changed.quarantined:
        log.warning("quarantined event %d (id %r): %s", bad.index, bad.id, bad.reason)
    if set_aside is not None and changed.quarantined:
        set_aside(changed.quarantined)
    counts: Mapping[str, int] = {"fetched": 0, "missing": 0, "batches": 0}
    if changed.object_ids:
        counts = sync_records(
            resource,
            acme_conn_id=acme_conn_id,
            progix_conn_id=progix_conn_id,
            ids=changed.object_ids,
            options=options,
        )
    return {**changed.counts(), **dict.fromkeys(UPSERT_COUNTS, 0), **counts}


def check_progix_tenant(progix_conn_id: str, expected: str) -> str:
    """Fail Initialization, before any webhook exists, when the Progix API key belongs to a
    tenant other than the configured `progix_tenant` (a key pasted for the wrong customer)."""
    from acme_erp_integration.progix import ProgixHook

    with fail_fast_on_permanent_errors():
        actual = ProgixHook(http_conn_id=progix_conn_id).tenant()
    if actual != expected:
        raise AirflowFailException(
            f"the Progix API key of {progix_conn_id} belongs to tenant {actual!r}, "
            f"but this instance is configured for progix_tenant {expected!r}"
        )
    return actual
