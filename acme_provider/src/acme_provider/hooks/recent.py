"""The keys of the most recently changed records, e.g. to test a flow on real data.

Acme's change feed (`updated_since`) lists records oldest change first and has no "newest
first" order, so the feed is read over widening windows (the last hour, day, month, then
everything) and the tail of the first window that has any records is kept. The walk is
bounded: at most `max_pages` pages are read per window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from acme_provider.hooks.acme_api import DEFAULT_PAGE_SIZE, Resource

if TYPE_CHECKING:
    from acme_provider.hooks.acme_erp import AcmeErpHook

WINDOWS: tuple[timedelta | None, ...] = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=31),
    None,  # everything, in creation order
)


def recently_changed_keys(
    hook: AcmeErpHook,
    resource: Resource,
    limit: int,
    *,
    windows: Sequence[timedelta | None] = WINDOWS,
    max_pages: int = 20,
    now: datetime | None = None,
) -> list[str]:
    """Up to `limit` ids (customers) or skus (items), most recently changed first."""
    from acme_provider.hooks.acme_erp import resource_key

    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    key = resource_key(resource)
    now = now or datetime.now(UTC)
    for window in windows:
        since = None if window is None else now - window
        tail: deque[str] = deque(maxlen=limit)
        pages = hook.iter_record_pages(resource, updated_since=since, page_size=DEFAULT_PAGE_SIZE)
        for count, page in enumerate(pages, start=1):
            tail.extend(str(record[key]) for record in page)
            if count >= max_pages:
                break
        if tail:
            return list(dict.fromkeys(reversed(tail)))
    return []
