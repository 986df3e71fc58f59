"""The support engineer's walk through the Integrations view, step by step.

Kept apart from the pytest test so each step reads as what a person does; `UiTarget` says
where the running system is and which credentials the person has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import FrameLocator, Page, expect

DEPLOY_TIMEOUT_MS = 150_000
STEP_TIMEOUT_MS = 30_000  # generous: the CI machine has 2 cores shared by many processes
expect.set_options(timeout=STEP_TIMEOUT_MS)
IFRAME = 'iframe[src*="/integrations"]'  # Airflow shows the plugin's pages in an iframe


@dataclass(frozen=True)
class UiTarget:
    airflow_url: str
    admin_password: str
    acme_url: str
    acme_key: str
    progix_url: str
    progix_key: str
    progix_tenant: str
    acme_webhooks: Callable[[], list[dict[str, Any]]]


class Screenshots:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def take(self, page: Page, name: str) -> Path:
        """Once the page has settled: Airflow's layout and icons loaded, our page painted."""
        self.count += 1
        page.wait_for_function("() => Array.from(document.images).every((i) => i.complete)")
        for frame in page.frames:
            if "/integrations" in frame.url:
                frame.wait_for_load_state("load")
        expect(page.frame_locator(IFRAME).locator("h1")).to_be_visible()
        path = self.directory / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), timeout=2 * STEP_TIMEOUT_MS, animations="disabled")
        return path


def log_in(page: Page, airflow_url: str, username: str, password: str) -> None:
    """Airflow's login form (FAB's "Sign In" and SimpleAuthManager's "Sign in" alike)."""
    page.goto(f"{airflow_url}/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))


def open_integrations(page: Page) -> FrameLocator:
    """Through Airflow's navigation: the view renders inside Airflow's own layout."""
    page.get_by_role("link", name="Integrations").first.click()
    page.wait_for_url(re.compile(r"/plugin/integrations$"))
    frame = page.frame_locator(IFRAME)
    expect(frame.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    return frame


def fill_wizard(
    frame: FrameLocator, target: UiTarget, *, instance_id: str, customer: str, acme_host: str
) -> None:
    frame.locator("#instance_id").fill(instance_id)
    frame.locator("#customer").fill(customer)
    frame.get_by_role("button", name="Next").first.click()
    frame.locator('[id="conn.acme_connection.host"]').fill(acme_host)
    frame.locator('[id="conn.acme_connection.password"]').fill(target.acme_key)
    frame.locator("section.step.current").get_by_role("button", name="Next").click()
    frame.locator('[id="conn.progix_connection.host"]').fill(target.progix_url)
    frame.locator('[id="conn.progix_connection.password"]').fill(target.progix_key)
    frame.locator('[id="config.progix_tenant"]').fill(target.progix_tenant)
    # The remaining steps (sync options, limits, alerts) keep their defaults, up to the last.
    next_button = frame.locator("section.step.current").get_by_role("button", name="Next")
    while next_button.count():
        next_button.click()


def run(page: Page, target: UiTarget, shots: Screenshots, instance_id: str) -> None:
    customer = "Bolt & Nut <Industries>"
    log_in(page, target.airflow_url, "admin", target.admin_password)
    frame = open_integrations(page)
    shots.take(page, "instances")
    refuse_a_bad_url(page, frame, target, shots, instance_id, customer)
    deploy(page, frame, target, shots, instance_id, customer)
    pause_and_list(page, frame, shots, instance_id, customer)
    remove(page, frame, target, shots, instance_id)


def refuse_a_bad_url(
    page: Page,
    frame: FrameLocator,
    target: UiTarget,
    shots: Screenshots,
    instance_id: str,
    customer: str,
) -> None:
    """A bad URL first: the wizard comes back on the Acme ERP step, with the error at the field."""
    frame.get_by_role("link", name=re.compile("Deploy")).first.click()
    expect(frame.get_by_role("heading", name="Deploy Acme ERP")).to_be_visible()
    shots.take(page, "wizard")
    fill_wizard(
        frame, target, instance_id=instance_id, customer=customer, acme_host="acme.internal"
    )
    frame.get_by_role("button", name="Deploy").click()
    error = frame.locator('[id="conn.acme_connection.host-error"]')
    expect(error).to_contain_text("http:// or https://")
    expect(frame.locator("section.step.current h2")).to_have_text("Acme ERP")
    shots.take(page, "wizard-error")
    assert not [w for w in target.acme_webhooks() if instance_id in w["url"]]


def deploy(
    page: Page,
    frame: FrameLocator,
    target: UiTarget,
    shots: Screenshots,
    instance_id: str,
    customer: str,
) -> None:
    """From the first step again; the progress page follows the deploy, then opens the instance."""
    frame.locator("ol.steps button").first.click()
    fill_wizard(
        frame, target, instance_id=instance_id, customer=customer, acme_host=target.acme_url
    )
    frame.get_by_role("button", name="Deploy").click()
    expect(
        frame.get_by_role("heading", name=re.compile(f"Deploying {instance_id}"))
    ).to_be_visible()
    expect(frame.get_by_text("Waiting for Airflow to parse")).to_be_visible()
    shots.take(page, "progress")
    expect(frame.get_by_text("Deployed: Initialization succeeded")).to_be_visible(
        timeout=DEPLOY_TIMEOUT_MS
    )
    expect(frame.get_by_role("heading", name=customer)).to_be_visible()
    for flow in ("sync-customer-data", "sync-inventory-data"):
        url = f"/hooks/acme-erp/{instance_id}/{flow}"
        expect(frame.locator(f'input[data-webhook="{flow}"]')).to_have_value(
            re.compile(re.escape(url) + "$")
        )
    expect(frame.locator('tr[data-flow="initialization"][data-state="success"]')).to_have_count(1)
    registered = sorted(w["url"] for w in target.acme_webhooks() if f"/{instance_id}/" in w["url"])
    assert [u.rsplit("/", 1)[1] for u in registered] == [
        "sync-customer-data",
        "sync-inventory-data",
    ]
    shots.take(page, "instance")


def pause_and_list(
    page: Page, frame: FrameLocator, shots: Screenshots, instance_id: str, customer: str
) -> None:
    frame.get_by_role("button", name="Pause").click()
    expect(frame.get_by_text("Paused: the relay keeps accepting events")).to_be_visible()
    expect(frame.get_by_role("button", name="Resume")).to_be_visible()
    shots.take(page, "paused")
    frame.locator("nav.crumbs").get_by_role("link", name="Integrations").click()
    row = frame.locator("tr", has=frame.locator(f'a[href$="/instances/{instance_id}"]'))
    expect(row).to_contain_text(customer)
    expect(row.locator(".badge.paused")).to_be_visible()
    shots.take(page, "instances-with-one")
    row.get_by_role("link", name=instance_id).click()


def remove(
    page: Page, frame: FrameLocator, target: UiTarget, shots: Screenshots, instance_id: str
) -> None:
    frame.get_by_role("link", name="Remove…").click()
    frame.locator("#confirm").fill(instance_id)
    shots.take(page, "remove-confirm")
    frame.get_by_role("button", name="Remove instance").click()
    expect(frame.get_by_text("Instance removed")).to_be_visible(timeout=DEPLOY_TIMEOUT_MS)
    expect(frame.locator(f'a[href$="/instances/{instance_id}"]')).to_have_count(0)
    shots.take(page, "removed")
    assert not [w for w in target.acme_webhooks() if f"/{instance_id}/" in w["url"]]


@dataclass(frozen=True)
class Shown:
    """An instance as a person recognises it: its id and its customer's name."""

    id: str
    customer: str


def scoped_viewer_sees_only(
    page: Page,
    airflow_url: str,
    login: tuple[str, str],
    shots: Screenshots,
    *,
    allowed: Shown,
    hidden: Shown,
) -> None:
    """A viewer whose role reads only `allowed`'s DAGs: the list, its page, and not the other."""
    log_in(page, airflow_url, *login)
    frame = open_integrations(page)
    row = frame.locator("tr", has=frame.locator(f'a[href$="/instances/{allowed.id}"]'))
    expect(row).to_contain_text(allowed.customer)
    expect(frame.locator(f'a[href$="/instances/{hidden.id}"]')).to_have_count(0)
    expect(frame.locator("body")).not_to_contain_text(hidden.customer)
    shots.take(page, "scoped-instances")
    row.get_by_role("link", name=allowed.id).click()
    expect(frame.get_by_role("heading", name=allowed.customer)).to_be_visible()
    expect(frame.locator('tr[data-flow="initialization"][data-state="success"]')).to_have_count(1)
    expect(frame.get_by_role("button", name="Pause")).to_have_count(0)  # a viewer acts on nothing
    shots.take(page, "scoped-instance")
    # The other instance's page, typed into the address bar: as if it did not exist.
    response = page.goto(f"{airflow_url}/integrations/instances/{hidden.id}")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(hidden.customer)
