"""Route lookups for ingest, cached in-process so the hot path stays a dict lookup.

A cached entry (including "no such route") stays valid until the registry changes. Each
process polls the store's registry version every `RELAY_REGISTRY_POLL_MS` (a one-row
read) and drops its cache when the version moved, so a route registered, retired or rotated
through any relay process is seen by every other within about one poll interval; changes
made through this process's admin API invalidate at once. Secret expiry needs no
invalidation: entries carry each key's expiry and `RouteEntry.keys_at` filters by time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from webhook_relay.store.routes_repo import RouteEntry, RouteRepository

log = logging.getLogger(__name__)

MISS = object()  # not cached (distinct from a cached None: "unknown route")
MAX_ENTRIES = 100_000


class RouteRegistry:
    def __init__(self, repo: RouteRepository, *, poll_s: float = 0.5) -> None:
        self.repo = repo
        self.poll_s = poll_s
        self._cache: dict[str, RouteEntry | None] = {}
        self._loading: dict[str, asyncio.Future[RouteEntry | None]] = {}
        self._generation = 0
        self._version: int | None = None

    def cached(self, route: str) -> RouteEntry | object | None:
        """The cached entry, None for a known-unknown route, or `MISS`."""
        return self._cache.get(route, MISS)

    async def load(self, route: str) -> RouteEntry | None:
        """Read the route from the store; concurrent misses for one route share one read."""
        pending = self._loading.get(route)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._loading[route] = future
        generation = self._generation
        try:
            entry = await asyncio.to_thread(self.repo.lookup, route)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody logs it as lost
            raise
        finally:
            self._loading.pop(route, None)
        if generation == self._generation:  # nothing changed while we read
            if len(self._cache) >= MAX_ENTRIES:
                self._cache.clear()
            self._cache[route] = entry
        future.set_result(entry)
        return entry

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()

    async def check_version(self) -> None:
        version = await asyncio.to_thread(self.repo.version)
        if version != self._version:
            if self._version is not None:
                log.debug(
                    "registry version %s -> %s: dropping cached routes", self._version, version
                )
            self._version = version
            self.invalidate()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll the registry version until `stop` is set."""
        while not stop.is_set():
            try:
                await self.check_version()
            except Exception:
                log.exception("reading the registry version failed; cache dropped")
                self.invalidate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
