"""In a real browser: log in to Airflow, deploy an instance through the wizard, pause, remove."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings
from tests.browser import ui_scenario
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def instance_id(stack: StackHandle) -> Iterator[str]:
    """A fresh instance id; if the test stops half-way, the instance is removed afterwards so
    the shared stack's Acme account is left as other tests expect it."""
    instance_id = f"ui-{secrets.token_hex(3)}"
    yield instance_id
    settings = LifecycleSettings(
        airflow_url=stack.stack.airflow_url,
        airflow_password=stack.stack.airflow_password("admin"),
        instances_dir=stack.stack.instances_dir,
        relay_url=stack.stack.relay_url,
        relay_registrar_token=stack.stack.relay_registrar_token,
    )
    with closing(InstanceService(settings, integration="acme-erp")) as service:
        if service.store.exists(instance_id):
            service.remove(instance_id)


def test_deploy_pause_and_remove_an_instance_in_the_airflow_ui(
    stack: StackHandle, browser: Browser, screenshots_dir: Path, instance_id: str
) -> None:
    target = ui_scenario.UiTarget(
        airflow_url=stack.stack.airflow_url,
        admin_password=stack.stack.airflow_password("admin"),
        acme_url=stack.acme.url,
        acme_key=stack.acme.api_key,
        progix_url=stack.progix.url,
        progix_key=stack.progix.api_key,
        progix_tenant=stack.progix.tenant_id,
        acme_webhooks=stack.acme.list_webhooks,
    )
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        ui_scenario.run(page, target, ui_scenario.Screenshots(screenshots_dir), instance_id)
    except Exception:
        page.screenshot(path=str(screenshots_dir / "failure.png"))
        raise
    finally:
        context.close()
