"""Where an instance's failure alerts go: a config wizard page, and the callbacks it becomes.

An integration adds `alerts_page(...)` to its wizard; the page's defaults are the
integration's destinations, and each instance may override them (wizard, CLI, instance file).
Only connection ids and addresses are config: SMTP, Slack and webhook credentials stay in
Airflow connections. The DAG factory turns the values into every task's
`on_failure_callback` and, for Initialization, a Deadline Alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from integration_platform.integrations.model import ConfigPage, ConfigVariable, VariableKind
from integration_platform.integrations.notifiers import (
    Destinations,
    FlowFailureNotifier,
    destinations_kwargs,
    emails_of,
)

ALERT_EMAILS = "alert_emails"
ALERT_SMTP_CONNECTION = "alert_smtp_connection"
ALERT_SLACK_CONNECTION = "alert_slack_connection"
ALERT_WEBHOOK_CONNECTION = "alert_webhook_connection"
ALERT_WINDOW_MINUTES = "alert_window_minutes"
INIT_DEADLINE_MINUTES = "initialization_deadline_minutes"


# The Alerts page's variables, in order: key, label, kind, help (defaults: `alerts_page`'s).
_ALERT_VARIABLES = (
    (ALERT_EMAILS, "Alert emails", VariableKind.LIST, "Addresses that get failure emails."),
    (
        ALERT_SMTP_CONNECTION,
        "SMTP connection",
        VariableKind.STRING,
        "Airflow SMTP connection id used for the emails.",
    ),
    (
        ALERT_SLACK_CONNECTION,
        "Slack webhook connection",
        VariableKind.STRING,
        "Airflow Slack incoming-webhook connection id (empty: no Slack).",
    ),
    (
        ALERT_WEBHOOK_CONNECTION,
        "Alert webhook connection",
        VariableKind.STRING,
        "Airflow HTTP connection: host = URL, password = whsec_ signing secret (empty: none).",
    ),
    (
        ALERT_WINDOW_MINUTES,
        "Group repeated failures (minutes)",
        VariableKind.NUMBER,
        "Failures of one flow inside this window are sent as one alert.",
    ),
    (
        INIT_DEADLINE_MINUTES,
        "Initialization deadline (minutes)",
        VariableKind.NUMBER,
        "Alert when a deploy's Initialization runs longer than this.",
    ),
)


def alerts_page(
    *,
    emails: Sequence[str] = (),
    smtp_connection: str = "smtp_default",
    slack_connection: str = "",
    webhook_connection: str = "",
    window_minutes: int = 30,
    initialization_deadline_minutes: int = 15,
) -> ConfigPage:
    """The wizard's Alerts page; its defaults are the integration's own destinations."""
    defaults: dict[str, Any] = {
        ALERT_EMAILS: list(emails),
        ALERT_SMTP_CONNECTION: smtp_connection,
        ALERT_SLACK_CONNECTION: slack_connection,
        ALERT_WEBHOOK_CONNECTION: webhook_connection,
        ALERT_WINDOW_MINUTES: window_minutes,
        INIT_DEADLINE_MINUTES: initialization_deadline_minutes,
    }
    return ConfigPage(
        title="Alerts",
        description="Who hears about failed runs, failed deploys and removals, and slow deploys.",
        variables=tuple(
            ConfigVariable(
                key=key, label=label, kind=kind, help=hint, required=False, default=defaults[key]
            )
            for key, label, kind, hint in _ALERT_VARIABLES
        ),
    )


def destinations(config: Mapping[str, Any]) -> Destinations:
    """The instance's destinations from its config (absent keys: no alerts of that kind)."""
    window = config.get(ALERT_WINDOW_MINUTES)
    return Destinations(
        emails=emails_of(config.get(ALERT_EMAILS) or ()),
        smtp_conn_id=str(config.get(ALERT_SMTP_CONNECTION) or "smtp_default"),
        slack_conn_id=str(config.get(ALERT_SLACK_CONNECTION) or ""),
        webhook_conn_id=str(config.get(ALERT_WEBHOOK_CONNECTION) or ""),
        window_minutes=float(window) if window is not None else 30.0,
    )


def failure_callbacks(
    integration: str, customer: str, instance_id: str, flow: str, config: Mapping[str, Any]
) -> list[FlowFailureNotifier]:
    """The tasks' `on_failure_callback`: one notifier, or none if nobody is to be told."""
    targets = destinations(config)
    if not targets.any:
        return []
    notifier = FlowFailureNotifier(
        integration=integration,
        customer=customer,
        instance_id=instance_id,
        flow=flow,
        destinations=targets,
    )
    return [notifier]


def initialization_deadline(
    integration: str,
    customer: str,
    instance_id: str,
    flow: str,
    dag_id: str,
    config: Mapping[str, Any],
) -> Any:
    """A Deadline Alert: the run is still going `initialization_deadline_minutes` after it was
    queued. None when no destination is configured or the deadline is 0."""
    from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference

    targets = destinations(config)
    minutes = config.get(INIT_DEADLINE_MINUTES)
    if not targets.any or not minutes:
        return None
    kwargs = {
        "integration": integration,
        "customer": customer,
        "instance_id": instance_id,
        "flow": flow,
        "dag_id": dag_id,
        "minutes": minutes,
        "destinations": destinations_kwargs(targets),
    }
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=float(minutes)),
        callback=AsyncCallback(
            "integration_platform.integrations.notifiers.initialization_overdue", kwargs=kwargs
        ),
        name=f"{flow} deadline",
    )


def alert_defaults(page: ConfigPage | None = None) -> dict[str, Any]:
    """The Alerts page's values when an instance overrides nothing."""
    return {v.key: v.default for v in (page or alerts_page()).variables}
