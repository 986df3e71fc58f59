"""Permanent errors end a task at once; transient ones stay retryable (real Acme simulator)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from acme_provider.exceptions import AcmeServerError
from acme_provider.operators.records import AcmeFetchRecordsOperator
from acme_provider.operators.webhooks import AcmeDeleteWebhooksOperator, AcmeEnsureWebhooksOperator
from tests.support.connections import SetConnection
from tests.support.simulators import AcmeSimulator

WRONG_KEY = "sk_wrong_TOPSECRET_91c3"


def _operators(conn_id: str) -> list:
    return [
        AcmeEnsureWebhooksOperator(
            task_id="ensure",
            managed_by="acme-erp/shop-1",
            webhooks=[
                {"key": "k", "url": "http://127.0.0.1:9/hook", "events": ["customer.created"]}
            ],
            secret_resolver=lambda _webhook: "whsec_c2VjcmV0",
            acme_conn_id=conn_id,
        ),
        AcmeDeleteWebhooksOperator(
            task_id="delete", managed_by="acme-erp/shop-1", acme_conn_id=conn_id
        ),
        AcmeFetchRecordsOperator(
            task_id="fetch", resource="customers", ids=["cus_1"], on_batch=len, acme_conn_id=conn_id
        ),
    ]


def test_a_rejected_api_key_fails_every_operator_without_retries(
    set_connection: SetConnection, acme_simulator: AcmeSimulator
) -> None:
    conn_id = set_connection("acme_wrong_key", host=acme_simulator.url, password=WRONG_KEY)
    for operator in _operators(conn_id):
        with pytest.raises(AirflowFailException) as caught:
            operator.execute(context={})
        assert "401" in str(caught.value), operator.task_id
        assert WRONG_KEY not in str(caught.value)


def test_a_missing_connection_fails_without_retries() -> None:
    for operator in _operators("acme_never_defined"):
        with pytest.raises(AirflowFailException, match="acme_never_defined"):
            operator.execute(context={})


def test_server_errors_stay_retryable(
    set_connection: SetConnection, acme_simulator: AcmeSimulator
) -> None:
    acme_simulator.set_faults(error_rate=1.0)
    conn_id = set_connection(
        "acme_failing",
        host=acme_simulator.url,
        password=acme_simulator.api_key,
        extra={"max_retries": 0},
    )
    (_, delete, _) = _operators(conn_id)
    with pytest.raises(AcmeServerError):
        delete.execute(context={})
