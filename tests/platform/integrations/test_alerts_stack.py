"""Alerts on the real stack: a flow run that fails for good sends one email (real SMTP server)
and one signed webhook (local HTTP receiver); a second failure inside the window is grouped."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from integration_platform.integrations.notifiers import GROUP_VARIABLE_PREFIX
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from tests.platform.lifecycle.test_lifecycle_stack import request_data
from tests.support.simulators import WebhookReceiver, run_webhook_receiver
from tests.support.smtp import SmtpSink, body_text, run_smtp_server
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

INSTANCE = "al-shop"
FLOW = "sync-customer-data"
SECRET = "whsec_" + base64.b64encode(b"stack-alert-signing-key-0123456").decode()
# A run fails at once when Progix refuses its key (a 401 no retry can fix); a malformed event
# would not do: it is quarantined and the run succeeds. Filled in by the `service` fixture.
FAILING_EVENTS: dict[str, list[dict[str, str]]] = {"events": []}


@pytest.fixture(scope="module")
def sinks() -> Iterator[tuple[SmtpSink, WebhookReceiver]]:
    with run_smtp_server() as smtp, run_webhook_receiver() as receiver:
        yield smtp, receiver


@pytest.fixture(scope="module")
def service(
    stack: StackHandle, sinks: tuple[SmtpSink, WebhookReceiver]
) -> Iterator[InstanceService]:
    smtp, receiver = sinks
    service = stack.acme_erp_service(run_timeout=900)
    extra = {"disable_ssl": True, "disable_tls": True}
    service.airflow.upsert_connection(
        "al_smtp", "smtp", {"host": smtp.host, "port": smtp.port, "extra": json.dumps(extra)}
    )
    service.airflow.upsert_connection(
        "al_hook", "http", {"host": f"{receiver.url}/alerts", "password": SECRET}
    )
    data = request_data(stack)
    data["config"].update(
        alert_emails=["ops@al-shop.example"],
        alert_smtp_connection="al_smtp",
        alert_webhook_connection="al_hook",
        alert_window_minutes=60,
    )
    # Created before the deploy registers webhooks: no relay run of its own may fail and alert.
    customer = stack.acme.create_customer(name="Alert Test Customer")
    assert service.deploy(INSTANCE, DeployRequest.from_mapping(data, source="test")).ok
    FAILING_EVENTS["events"] = [
        {"id": "evt_alert", "type": "customer.updated", "object_id": customer["id"]}
    ]
    progix_conn = service.get_instance(INSTANCE).connections["progix_connection"]
    service.airflow.upsert_connection(progix_conn, "http", {"password": "sk_refused_by_progix"})
    yield service
    if service.store.exists(INSTANCE):
        service.remove(INSTANCE)
    for conn_id in ("al_smtp", "al_hook"):
        service.airflow.delete_connection(conn_id)
    service.close()


def _failed_run(service: InstanceService, run_id: str) -> str:
    dag_id = service.dag_ids(INSTANCE)[FLOW]
    service.airflow.trigger_dag_run(dag_id, run_id, FAILING_EVENTS)
    outcome = service._wait_for_run(dag_id, run_id, FLOW, lambda _line: None)
    assert outcome.state == "failed"
    return dag_id


def test_a_failed_run_alerts_by_email_and_signed_webhook(
    service: InstanceService, sinks: tuple[SmtpSink, WebhookReceiver]
) -> None:
    smtp, receiver = sinks
    dag_id = _failed_run(service, "manual__alert_1")

    [email] = smtp.wait_for(1, timeout=120)
    text = body_text(email)
    assert email["X-Envelope-To"] == "ops@al-shop.example"
    assert "Lifecycle Test Shop" in email["Subject"]
    for part in ("Sync Customer Data", "manual__alert_1", "answered HTTP 401", dag_id):
        assert part in text
    [request] = receiver.wait_for(1, timeout=120)
    alert = Webhook(SECRET).verify(request.body, request.headers)
    assert alert["run_id"] == "manual__alert_1"
    assert alert["customer"] == "Lifecycle Test Shop"
    assert dag_id in alert["log_url"]


def test_a_second_failure_inside_the_window_is_grouped_not_sent(
    service: InstanceService, sinks: tuple[SmtpSink, WebhookReceiver]
) -> None:
    smtp, receiver = sinks
    dag_id = _failed_run(service, "manual__alert_2")

    key = GROUP_VARIABLE_PREFIX + dag_id
    variable = service.airflow.get(f"/api/v2/variables/{key}")
    assert json.loads(variable["value"])["held_back"] == 1
    assert len(smtp.messages) == 1
    assert len(receiver.received) == 1
