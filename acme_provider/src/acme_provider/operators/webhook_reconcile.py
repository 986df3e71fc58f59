"""Reconcile the webhook subscriptions one owner manages in Acme ERP with a desired set.

Ownership lives in each subscription's `metadata` (`managed_by`, `key`, `secret_fingerprint`),
so several owners (instances, other tools, people) can share one Acme account: subscriptions
of anyone else are never changed, with one exception. A subscription of another owner (or of
none) at one of the owner's own desired URLs delivers to the owner's endpoint, so it is the
owner's to repair: adopted when the owner has none for that URL, else deleted as a duplicate.
Planning is a pure function; applying the plan is the only part that talks to Acme.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from airflow.sdk.log import mask_secret

from acme_provider.hooks.acme_api import WebhookSubscription
from acme_provider.urls import parse_http_url
from acme_provider.webhook_secrets import secret_fingerprint

if TYPE_CHECKING:
    from acme_provider.hooks.acme_erp import AcmeErpHook

MANAGED_BY = "managed_by"
KEY = "key"
FINGERPRINT = "secret_fingerprint"

SecretResolver = Callable[[Mapping[str, Any]], str]

log = logging.getLogger(__name__)


class ReconcileSummary(TypedDict):
    """What a reconciliation did: webhook keys created (missing), updated (changed), adopted
    (a foreign-owned subscription at the owner's URL) and unchanged; subscription ids deleted."""

    created: list[str]
    updated: list[str]
    adopted: list[str]
    deleted: list[str]
    unchanged: list[str]


@dataclass(frozen=True)
class DesiredWebhook:
    """One subscription the owner wants: a stable `key`, a `url` and a set of `events`."""

    key: str
    url: str
    events: tuple[str, ...]
    source: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, index: int, value: Any) -> DesiredWebhook:
        """Validate one entry of `webhooks`; errors name the entry and the field."""
        where = f"webhooks[{index}]"
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be a mapping with url, events and key")
        key = value.get("key")
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"{where}.key must be a non-empty string")
        url = value.get("url")
        if not isinstance(url, str) or parse_http_url(url) is None:
            raise ValueError(f"{where}.url must be an http(s) URL (webhook {key!r})")
        events = value.get("events")
        if (
            not isinstance(events, Sequence)
            or isinstance(events, str)
            or not events
            or not all(isinstance(e, str) and e.strip() for e in events)
        ):
            raise ValueError(f"{where}.events must be a non-empty list of event names")
        return cls(key=key, url=url, events=tuple(sorted(set(events))), source=value)


def parse_desired(webhooks: Any) -> list[DesiredWebhook]:
    """Validate the whole desired set (keys must be unique) before anything is changed."""
    if not isinstance(webhooks, Sequence) or isinstance(webhooks, str | bytes):
        raise ValueError(
            f"webhooks must be a list of {{url, events, key}} mappings, got {type(webhooks).__name__}"
        )
    desired = [DesiredWebhook.parse(i, value) for i, value in enumerate(webhooks)]
    keys = [d.key for d in desired]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"webhooks have duplicate keys: {', '.join(duplicates)}")
    return desired


def check_owner(owner: Any) -> str:
    if not isinstance(owner, str) or not owner.strip():
        raise ValueError("managed_by must be a non-empty string")
    return owner


def resolve_fingerprints(
    desired: Iterable[DesiredWebhook], secret_resolver: SecretResolver
) -> tuple[dict[str, str], dict[str, str]]:
    """Secrets and their fingerprints per key. Secrets stay in memory, never in results, and
    are registered with Airflow's secret masker: an Acme error echoing one is redacted in the
    task log (whatever resolver produced it)."""
    secrets: dict[str, str] = {}
    fingerprints: dict[str, str] = {}
    for webhook in desired:
        secret = secret_resolver(webhook.source)
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"secret_resolver returned no secret for webhook {webhook.key!r}")
        mask_secret(secret)
        secrets[webhook.key] = secret
        fingerprints[webhook.key] = secret_fingerprint(secret)
    return secrets, fingerprints


def owned_by(owner: str, subscriptions: Iterable[WebhookSubscription]) -> list[WebhookSubscription]:
    """The subscriptions whose metadata names `owner` as manager, in Acme's order."""
    return [s for s in subscriptions if (s.get("metadata") or {}).get(MANAGED_BY) == owner]


def not_owned_by(
    owner: str, subscriptions: Iterable[WebhookSubscription]
) -> list[WebhookSubscription]:
    """The subscriptions of anyone else (or of no one), in Acme's order."""
    return [s for s in subscriptions if (s.get("metadata") or {}).get(MANAGED_BY) != owner]


@dataclass(frozen=True)
class WebhookPlan:
    create: list[DesiredWebhook]
    update: list[tuple[WebhookSubscription, DesiredWebhook]]
    delete: list[WebhookSubscription]
    unchanged: list[DesiredWebhook]
    adopt: list[tuple[WebhookSubscription, DesiredWebhook]] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        return not (self.create or self.update or self.delete or self.adopt)


def plan_webhooks(
    desired: Sequence[DesiredWebhook],
    fingerprints: Mapping[str, str],
    owned: Sequence[WebhookSubscription],
    foreign: Sequence[WebhookSubscription] = (),
) -> WebhookPlan:
    """Decide, per key, whether to create, update, adopt, keep or delete.

    The first owned subscription of a key is kept (duplicates left by a crashed or concurrent
    run are deleted); owned subscriptions whose key is no longer desired are deleted. Of
    `foreign` (everyone else's), only those at a desired URL are considered: the first is
    adopted when the key has no owned subscription, the others are deleted; the rest of
    `foreign` is never part of the plan.
    """
    by_key: dict[str, list[WebhookSubscription]] = {}
    for subscription in owned:
        by_key.setdefault(str(subscription["metadata"].get(KEY)), []).append(subscription)
    at_url: dict[str, list[WebhookSubscription]] = {}
    for subscription in foreign:
        at_url.setdefault(str(subscription.get("url")), []).append(subscription)

    plan = WebhookPlan(create=[], update=[], delete=[], unchanged=[])
    for webhook in desired:
        existing = by_key.pop(webhook.key, [])
        strangers = at_url.pop(webhook.url, [])
        if not existing and not strangers:
            plan.create.append(webhook)
            continue
        if not existing:
            adopted, *strangers = strangers
            plan.adopt.append((adopted, webhook))
            plan.delete.extend(strangers)
            continue
        keep, *duplicates = existing
        plan.delete.extend([*duplicates, *strangers])
        if _drifted(keep, webhook, fingerprints[webhook.key]):
            plan.update.append((keep, webhook))
        else:
            plan.unchanged.append(webhook)
    for stale in by_key.values():
        plan.delete.extend(stale)
    return plan


def _drifted(subscription: WebhookSubscription, webhook: DesiredWebhook, fingerprint: str) -> bool:
    return (
        subscription.get("url") != webhook.url
        or tuple(sorted(set(subscription.get("events") or ()))) != webhook.events
        or (subscription.get("metadata") or {}).get(FINGERPRINT) != fingerprint
        or subscription.get("enabled") is False
    )


def ownership_metadata(owner: str, key: str, fingerprint: str) -> dict[str, str]:
    return {MANAGED_BY: owner, KEY: key, FINGERPRINT: fingerprint}


def reconcile_webhooks(
    hook: AcmeErpHook,
    *,
    managed_by: str,
    webhooks: Any,
    secret_resolver: SecretResolver,
) -> ReconcileSummary:
    """Make `managed_by`'s subscriptions in Acme match `webhooks`; return what changed.

    Everything is validated and every secret resolved before the first write, so bad input
    changes nothing. Creates and updates run before deletes, so a moved URL keeps receiving.
    """
    owner = check_owner(managed_by)
    desired = parse_desired(webhooks)
    secrets, fingerprints = resolve_fingerprints(desired, secret_resolver)
    subscriptions = list(hook.iter_webhooks())
    plan = plan_webhooks(
        desired, fingerprints, owned_by(owner, subscriptions), not_owned_by(owner, subscriptions)
    )

    for webhook in plan.create:
        hook.create_webhook(
            webhook.url,
            webhook.events,
            secrets[webhook.key],
            ownership_metadata(owner, webhook.key, fingerprints[webhook.key]),
        )
        log.info("Created Acme webhook %r -> %s %s", webhook.key, webhook.url, list(webhook.events))
    for subscription, webhook in [*plan.update, *plan.adopt]:
        hook.update_webhook(
            subscription["id"],
            url=webhook.url,
            events=list(webhook.events),
            secret=secrets[webhook.key],
            metadata={
                **(subscription.get("metadata") or {}),
                **ownership_metadata(owner, webhook.key, fingerprints[webhook.key]),
            },
            enabled=True,
        )
        log.info("Updated Acme webhook %r (%s) -> %s", webhook.key, subscription["id"], webhook.url)
    deleted = delete_subscriptions(hook, plan.delete)
    return ReconcileSummary(
        created=[w.key for w in plan.create],
        updated=[w.key for _, w in plan.update],
        adopted=[w.key for _, w in plan.adopt],
        deleted=deleted,
        unchanged=[w.key for w in plan.unchanged],
    )


def delete_subscriptions(
    hook: AcmeErpHook, subscriptions: Iterable[WebhookSubscription]
) -> list[str]:
    """Delete subscriptions; one already gone counts as done. Returns the ids deleted."""
    deleted: list[str] = []
    for subscription in subscriptions:
        webhook_id = str(subscription["id"])
        if hook.delete_webhook(webhook_id, missing_ok=True):
            deleted.append(webhook_id)
            log.info(
                "Deleted Acme webhook %s (key %r)",
                webhook_id,
                (subscription.get("metadata") or {}).get(KEY),
            )
    return deleted


def delete_owned_webhooks(hook: AcmeErpHook, *, managed_by: str) -> list[str]:
    """Delete every subscription `managed_by` owns; others stay. Returns the ids deleted."""
    return delete_subscriptions(hook, owned_by(check_owner(managed_by), hook.iter_webhooks()))
