"""Alerts: what the factory attaches to each flow, and what reaches a real SMTP server and a
real HTTP receiver (connections from `AIRFLOW_CONN_*`, as Airflow reads them outside a task)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from acme_erp_integration.dags import FACTORY
from acme_erp_integration.definition import ACME_ERP, INITIALIZATION, SYNC_CUSTOMERS
from integration_platform.integrations.instances import Instance
from integration_platform.integrations.notifiers import (
    Alert,
    Destinations,
    FlowFailureNotifier,
    deliver,
    grouped,
    initialization_overdue,
)
from tests.support.simulators import run_webhook_receiver
from tests.support.smtp import body_text, run_smtp_server

SECRET = "whsec_" + base64.b64encode(b"alert-signing-key-0123456789abcd").decode()


def _instance(**config) -> Instance:
    return Instance(
        id="shop-7",
        integration=ACME_ERP.slug,
        customer="Shop Seven",
        generation=1,
        config={"progix_tenant": "t", **config},
        connections={"acme_connection": "acme_erp__shop-7", "progix_connection": "progix__shop-7"},
    )


def _dag(instance: Instance, slug: str):
    return FACTORY.build_dag(instance, ACME_ERP.flow(slug))


def test_no_destination_means_no_callback_and_no_deadline() -> None:
    instance = _instance()
    assert all(not t.on_failure_callback for t in _dag(instance, SYNC_CUSTOMERS).tasks)
    assert not _dag(instance, INITIALIZATION).deadline


def test_every_task_gets_the_instances_notifier_and_initialization_a_deadline() -> None:
    instance = _instance(alert_emails=["ops@shop7.example"], initialization_deadline_minutes=5)
    for task in _dag(instance, SYNC_CUSTOMERS).tasks:
        [notifier] = task.on_failure_callback
        assert isinstance(notifier, FlowFailureNotifier)
        assert notifier.destinations.emails == ("ops@shop7.example",)
        assert notifier.customer == "Shop Seven"
    [deadline] = _dag(instance, INITIALIZATION).deadline
    assert deadline.interval == timedelta(minutes=5)
    assert deadline.callback.path.endswith("notifiers.initialization_overdue")


def _alert(**overrides) -> Alert:
    values = dict(
        integration="acme-erp",
        customer="Shop <Seven>",
        instance_id="shop-7",
        flow="Sync Customer Data",
        dag_id="acme_erp__shop_7__sync_customer_data",
        run_id="relay__42",
        task_id="sync_customers",
        reason="AirflowFailException: conf.events[0].object_id must be a non-empty string",
        log_url="http://airflow.test/dags/x/runs/relay__42/tasks/sync_customers",
    )
    return Alert(**{**values, **overrides})


@pytest.fixture
def destinations(monkeypatch: pytest.MonkeyPatch):
    with run_smtp_server() as smtp, run_webhook_receiver() as receiver:
        smtp_extra = {"disable_ssl": True, "disable_tls": True, "from_email": "alerts@x.example"}
        conns = {
            "alerts_smtp": {
                "conn_type": "smtp",
                "host": smtp.host,
                "port": smtp.port,
                "extra": smtp_extra,
            },
            "alerts_hook": {
                "conn_type": "http",
                "host": f"{receiver.url}/alerts",
                "password": SECRET,
            },
        }
        for conn_id, value in conns.items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
        targets = Destinations(
            emails=("ops@shop7.example",),
            smtp_conn_id="alerts_smtp",
            from_email="alerts@x.example",
            webhook_conn_id="alerts_hook",
        )
        yield targets, smtp, receiver


def test_an_alert_reaches_email_and_a_signed_webhook_naming_customer_flow_run_reason_log(
    destinations,
) -> None:
    targets, smtp, receiver = destinations
    alert = _alert()

    assert deliver(alert, targets) == []

    [email] = smtp.wait_for(1)
    text = body_text(email)
    assert email["X-Envelope-To"] == "ops@shop7.example"
    assert "Shop <Seven>" in email["Subject"]
    for part in (
        "Shop &lt;Seven&gt;",
        "Sync Customer Data",
        "relay__42",
        "object_id must be",
        alert.log_url,
    ):
        assert part in text
    [request] = receiver.wait_for(1)
    assert request.path == "/alerts"
    assert request.json()["run_id"] == "relay__42"
    assert Webhook(SECRET).verify(request.body, request.headers)["customer"] == "Shop <Seven>"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another-key").decode()).verify(
            request.body, request.headers
        )


def test_one_failing_destination_does_not_stop_the_others(destinations) -> None:
    targets, smtp, receiver = destinations
    receiver.fail_next(1, status=500)

    assert deliver(_alert(), targets) == ["webhook"]
    assert len(smtp.wait_for(1)) == 1


def test_repeated_failures_inside_the_window_are_grouped() -> None:
    store: dict = {}
    memory = SimpleNamespace(get=store.get, set=store.__setitem__)
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    window = timedelta(minutes=30)

    assert grouped("dag", window, start, memory) == (True, 0, None)
    assert grouped("dag", window, start + timedelta(minutes=1), memory)[:2] == (False, 1)
    assert grouped("dag", window, start + timedelta(minutes=2), memory)[:2] == (False, 2)
    assert grouped("other", window, start, memory)[0] is True  # per flow
    later = grouped("dag", window, start + timedelta(minutes=31), memory)
    assert later == (True, 2, start.isoformat())
    assert "+2 more" in _alert(held_back=later[1], since=later[2]).subject


def test_the_deadline_callback_alerts_that_initialization_is_slow(destinations) -> None:
    targets, smtp, receiver = destinations
    kwargs = {
        "integration": "acme-erp",
        "customer": "Shop Seven",
        "instance_id": "shop-7",
        "flow": "Initialization",
        "dag_id": "acme_erp__shop_7__initialization",
        "minutes": 5,
        "destinations": {**targets.__dict__, "emails": list(targets.emails)},
    }
    asyncio.run(initialization_overdue(**kwargs))
    [email] = smtp.wait_for(1)
    assert "Initialization failed" in email["Subject"]
    assert "deadline missed" in body_text(email)
    assert receiver.wait_for(1)[0].json()["flow"] == "Initialization"
