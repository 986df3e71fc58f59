"""One-line notices after a redirect (`?notice=deployed`): fixed texts, never echoed input."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request


@dataclass(frozen=True)
class Notice:
    kind: str  # ok | info | error | warn
    text: str


NOTICES = {
    "deployed": Notice("ok", "Deployed: Initialization succeeded and the webhooks are registered."),
    "unchanged": Notice("info", "Nothing to redeploy: the configuration is unchanged."),
    "deploy-failed": Notice("error", "The deploy failed; the reason and the task log are below."),
    "removed": Notice(
        "ok",
        "Instance removed: Teardown deleted its webhooks, and its file and connections are gone.",
    ),
    "remove-failed": Notice(
        "error", "Teardown failed, so nothing was deleted; see the reason below."
    ),
    "paused": Notice(
        "info", "Paused: the relay keeps accepting events and holds them; no run until you resume."
    ),
    "resumed": Notice("ok", "Resumed: the held events are delivered in batches now."),
    "rotated": Notice(
        "ok",
        "Secrets rotated: Acme signs with the new ones; the old ones expire after the overlap.",
    ),
}


def notice_from(request: Request) -> Notice | None:
    return NOTICES.get(request.query_params.get("notice", ""))
