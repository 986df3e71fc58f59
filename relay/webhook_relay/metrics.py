"""Prometheus metrics. Queue figures are read from the store at scrape time, so they are
right whichever process (serve or a separate dispatcher) changed them."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from webhook_relay.store.repository import Store

REGISTRY = CollectorRegistry(auto_describe=True)

INGESTED = Counter(
    "relay_ingest_requests",
    "Webhook deliveries answered, by result (accepted, duplicate, rejected)",
    ["result"],
    registry=REGISTRY,
)
INGEST_LATENCY = Histogram(
    "relay_ingest_latency_seconds",
    "Time from request start to acknowledgement (stored deliveries only)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
SIGNATURE_FAILURES = Counter(
    "relay_signature_failures",
    "Rejected signatures by reason",
    ["reason"],
    registry=REGISTRY,
)
DISPATCH_LATENCY = Histogram(
    "relay_dispatch_latency_seconds",
    "Duration of one trigger call to Airflow",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
BATCH_DELAY = Histogram(
    "relay_batch_delay_seconds",
    "Time from batch creation to Airflow accepting its run",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 300.0, 3600.0),
    registry=REGISTRY,
)
DISPATCH_OUTCOMES = Counter(
    "relay_dispatch_attempts",
    "Trigger attempts by outcome (created, exists, retry, dead)",
    ["outcome"],
    registry=REGISTRY,
)

FLOW_WINDOW = Gauge(
    "relay_flow_window",
    "Runs this dispatcher lets wait to start in Airflow, all routes (adaptive batching)",
    registry=REGISTRY,
)


class StoreCollector(Collector):
    """Queue depth, oldest queued age and dead letters, from the database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.store.stats(time.time())
        yield GaugeMetricFamily(
            "relay_queue_depth", "Events stored but not yet dispatched", stats["queue_depth"]
        )
        yield GaugeMetricFamily(
            "relay_queue_oldest_age_seconds",
            "Age of the oldest event not yet dispatched",
            stats["oldest_queued_age_seconds"],
        )
        yield GaugeMetricFamily(
            "relay_dead_letters", "Events parked as dead letters", stats["dead_letters"]
        )
        yield GaugeMetricFamily(
            "relay_paused_routes", "Routes with dispatch paused", len(stats["paused_routes"])
        )


_store_collector: StoreCollector | None = None


def register_store(store: Store) -> None:
    """Point the store gauges at `store` (registered once per process)."""
    global _store_collector
    if _store_collector is None:
        _store_collector = StoreCollector(store)
        REGISTRY.register(_store_collector)
    else:
        _store_collector.store = store
