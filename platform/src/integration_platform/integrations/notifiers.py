"""Failure alerts through Airflow's notifier mechanism (`BaseNotifier`).

`FlowFailureNotifier` is the one callback every flow's tasks get (`on_failure_callback`: it
runs once a task has failed for good, after its retries). It says which customer, flow and
run failed, why, and where the log is, and sends that through each configured destination:

- email: the SMTP provider's `SmtpNotifier` (an Airflow SMTP connection),
- Slack: the Slack provider's `SlackWebhookNotifier` (a Slack incoming-webhook connection),
- any HTTP endpoint: `SignedWebhookNotifier`, a JSON POST signed like Standard Webhooks with
  the connection's password (`whsec_...`), so the receiver can tell it came from us.

Repeated failures of one flow are grouped: the first failure in a window is sent at once; the
next ones inside the window are only counted (in an Airflow Variable), and the first failure
after the window says how many were held back. One destination failing never stops another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import httpx
from airflow.sdk import BaseHook, BaseNotifier, Variable

from integration_contracts.signing import SECRET_PREFIX

log = logging.getLogger(__name__)
GROUP_VARIABLE_PREFIX = "integration_alerts__"


@dataclass(frozen=True)
class Alert:
    """What one alert says; never a secret (reasons are exception messages, not conf)."""

    integration: str
    customer: str
    instance_id: str
    flow: str
    dag_id: str
    run_id: str
    task_id: str
    reason: str
    log_url: str
    held_back: int = 0  # failures of this flow inside the last window that were not sent
    since: str | None = None

    @property
    def subject(self) -> str:
        more = f" (+{self.held_back} more since {self.since})" if self.held_back else ""
        return f"[{self.integration}] {self.customer}: {self.flow} failed{more}"

    @property
    def text(self) -> str:
        lines = [
            self.subject,
            f"Customer: {self.customer} (instance {self.instance_id})",
            f"Flow: {self.flow} (DAG {self.dag_id})",
            f"Run: {self.run_id}, task {self.task_id}",
            f"Reason: {self.reason}",
            f"Log: {self.log_url}",
        ]
        if self.held_back:
            lines.append(f"{self.held_back} more failure(s) of this flow since {self.since}")
        return "\n".join(lines)

    @property
    def html(self) -> str:
        return "<br>\n".join(escape(line) for line in self.text.splitlines())


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `webhook-signature` (`v1,<base64 HMAC-SHA256>`) of one delivery."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class SignedWebhookNotifier(BaseNotifier):
    """POST a JSON alert to the connection's URL (host), signed with its password."""

    def __init__(self, *, conn_id: str, payload: Mapping[str, Any], timeout: float = 10.0):
        super().__init__()
        self.conn_id = conn_id
        self.payload = dict(payload)
        self.timeout = timeout

    def notify(self, context: Any) -> None:
        conn = BaseHook.get_connection(self.conn_id)
        url = conn.host if "://" in (conn.host or "") else conn.get_uri()
        body = json.dumps(self.payload, sort_keys=True).encode()
        message_id, timestamp = f"alert_{secrets.token_hex(8)}", int(time.time())
        headers = {"content-type": "application/json", "webhook-id": message_id}
        headers["webhook-timestamp"] = str(timestamp)
        if conn.password:
            headers["webhook-signature"] = sign(conn.password, message_id, timestamp, body)
        response = httpx.post(url, content=body, headers=headers, timeout=self.timeout)
        response.raise_for_status()


@dataclass(frozen=True)
class Destinations:
    emails: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    from_email: str = "alerts@integrations.invalid"
    slack_conn_id: str = ""
    webhook_conn_id: str = ""
    window_minutes: float = 30

    @property
    def any(self) -> bool:
        return bool(self.emails or self.slack_conn_id or self.webhook_conn_id)


def deliver(alert: Alert, destinations: Destinations, context: Any = None) -> list[str]:
    """Send `alert` to every destination; returns the ones that failed (logged, not raised)."""
    notifiers: list[tuple[str, BaseNotifier]] = []
    if destinations.emails:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        email = SmtpNotifier(
            to=list(destinations.emails),
            from_email=destinations.from_email,
            subject=alert.subject,
            html_content=alert.html,
            smtp_conn_id=destinations.smtp_conn_id,
        )
        notifiers.append(("email", email))
    if destinations.slack_conn_id:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        slack = SlackWebhookNotifier(
            slack_webhook_conn_id=destinations.slack_conn_id, text=alert.text
        )
        notifiers.append(("slack", slack))
    if destinations.webhook_conn_id:
        hook = SignedWebhookNotifier(conn_id=destinations.webhook_conn_id, payload=asdict(alert))
        notifiers.append(("webhook", hook))
    failed = []
    for name, notifier in notifiers:
        try:
            notifier.notify(context or {})  # not __call__: alert text is data, never a template
        except Exception as error:
            log.warning("Alert to %s failed: %s: %s", name, type(error).__name__, error)
            failed.append(name)
    return failed


class VariableStore:
    """Grouping state in Airflow Variables (read and written through the task's API)."""

    def get(self, name: str) -> Any:
        return Variable.get(name, default=None, deserialize_json=True)

    def set(self, name: str, value: Mapping[str, Any]) -> None:
        Variable.set(name, dict(value), serialize_json=True)


def grouped(
    key: str, window: timedelta, now: datetime, store: Any = None
) -> tuple[bool, int, str | None]:
    """`(send now?, failures held back, since when)` for one more failure of `key`."""
    store = store or VariableStore()
    name = GROUP_VARIABLE_PREFIX + key
    state = store.get(name)
    if isinstance(state, Mapping) and "window_start" in state:
        start = datetime.fromisoformat(state["window_start"])
        if now - start < window:
            held = int(state.get("held_back", 0)) + 1
            store.set(name, {**state, "held_back": held})
            return False, held, state["window_start"]
        held_back, since = int(state.get("held_back", 0)), state["window_start"]
    else:
        held_back, since = 0, None
    store.set(name, {"window_start": now.isoformat(), "held_back": 0})
    return True, held_back, since


class FlowFailureNotifier(BaseNotifier):
    """The `on_failure_callback` of a flow's tasks: one grouped alert per failure."""

    def __init__(
        self,
        *,
        integration: str,
        customer: str,
        instance_id: str,
        flow: str,
        destinations: Destinations,
    ):
        super().__init__()
        self.integration = integration
        self.customer = customer
        self.instance_id = instance_id
        self.flow = flow
        self.destinations = destinations

    def notify(self, context: Any) -> None:
        ti, dag_run = context.get("ti"), context.get("dag_run")
        dag_id = getattr(ti, "dag_id", "") or getattr(dag_run, "dag_id", "")
        window = timedelta(minutes=self.destinations.window_minutes)
        send, held_back, since = grouped(dag_id, window, datetime.now(UTC))
        if not send:
            log.info("Alert for %s held back: %d failure(s) in this window", dag_id, held_back)
            return
        alert = self.alert(context, held_back=held_back, since=since)
        deliver(alert, self.destinations, context)

    def alert(self, context: Any, *, held_back: int = 0, since: str | None = None) -> Alert:
        ti, dag_run = context.get("ti"), context.get("dag_run")
        error = context.get("exception")
        reason = f"{type(error).__name__}: {error}" if error else "the task failed"
        return Alert(
            integration=self.integration,
            customer=self.customer,
            instance_id=self.instance_id,
            flow=self.flow,
            dag_id=getattr(ti, "dag_id", "") or getattr(dag_run, "dag_id", ""),
            run_id=getattr(ti, "run_id", "") or getattr(dag_run, "run_id", ""),
            task_id=getattr(ti, "task_id", ""),
            reason=reason[:1000],
            log_url=getattr(ti, "log_url", "") or "",
            held_back=held_back,
            since=since,
        )


async def initialization_overdue(**kwargs: Any) -> None:
    """The Deadline Alert callback (run by the triggerer): Initialization is taking too long."""
    import asyncio

    destinations = Destinations(
        **{**kwargs["destinations"], "emails": tuple(kwargs["destinations"]["emails"])}
    )
    alert = Alert(
        integration=kwargs["integration"],
        customer=kwargs["customer"],
        instance_id=kwargs["instance_id"],
        flow=kwargs["flow"],
        dag_id=kwargs["dag_id"],
        run_id=str(kwargs.get("run_id") or ""),
        task_id="",
        reason=f"still running after {kwargs['minutes']} minute(s) (deadline missed)",
        log_url=str(kwargs.get("log_url") or ""),
    )
    await asyncio.to_thread(deliver, alert, destinations)


def destinations_kwargs(destinations: Destinations) -> dict[str, Any]:
    """`Destinations` as plain JSON for a Deadline Alert's callback kwargs."""
    data = asdict(destinations)
    data["emails"] = list(destinations.emails)
    return data


def emails_of(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v and v.strip())
