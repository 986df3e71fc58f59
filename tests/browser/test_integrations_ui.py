"""In a real browser: log in to Airflow, deploy an instance through the wizard, pause, remove."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser import ui_scenario
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_deploy_pause_and_remove_an_instance_in_the_airflow_ui(
    stack: StackHandle, browser: Browser, screenshots_dir: Path
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
        ui_scenario.run(
            page, target, ui_scenario.Screenshots(screenshots_dir), f"ui-{secrets.token_hex(3)}"
        )
    except Exception:
        page.screenshot(path=str(screenshots_dir / "failure.png"))
        raise
    finally:
        context.close()
