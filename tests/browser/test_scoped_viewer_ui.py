"""A viewer whose FAB role may read one instance's DAGs sees that instance only: UI and API.

Two instances are deployed for real (each on its own Acme account and Progix tenant, in
parallel); an admin then creates, through FAB's REST API, a role reading exactly the first
one's DAGs and a user with it, as an Airflow operator would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from tests.browser import ui_scenario
from tests.browser.ui_scenario import Shown
from tests.support.fab_users import create_scoped_viewer, token_of
from tests.support.stack import ACME_ACCOUNTS, PROGIX_TENANTS, StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.browser]
API = "/integrations/api/v1"


def _service(stack: StackHandle) -> InstanceService:
    return stack.acme_erp_service(run_timeout=600, with_relay=True)


def _deploy(stack: StackHandle, shown: Shown, account: str, tenant: str) -> None:
    request = stack.acme_erp_request(shown.customer, account=account, tenant=tenant)
    with closing(_service(stack)) as service:
        result = service.deploy(shown.id, DeployRequest.from_mapping(request, source="test"))
        assert result.run is not None
        assert result.run.succeeded, result


@pytest.fixture(scope="module")
def instances(stack: StackHandle) -> Iterator[tuple[Shown, Shown]]:
    """(allowed, hidden), deployed side by side; removed afterwards."""
    suffix = secrets.token_hex(3)
    allowed = Shown(f"sv-{suffix}-a", "Visible Valves Ltd")
    hidden = Shown(f"sv-{suffix}-b", "Confidential Castings AG")
    pairs = zip((allowed, hidden), ACME_ACCOUNTS, PROGIX_TENANTS, strict=True)
    try:
        with ThreadPoolExecutor(2) as pool:
            for deployed in [pool.submit(_deploy, stack, *pair) for pair in pairs]:
                deployed.result()
        yield allowed, hidden
    finally:
        with closing(_service(stack)) as service:
            for shown in (allowed, hidden):
                if service.store.exists(shown.id):
                    service.remove(shown.id)


@pytest.fixture(scope="module")
def allowed_dags(stack: StackHandle, instances: tuple[Shown, Shown]) -> set[str]:
    with closing(_service(stack)) as service:
        return set(service.dag_ids(instances[0].id).values())


@pytest.fixture(scope="module")
def scoped_login(stack: StackHandle, allowed_dags: set[str]) -> tuple[str, str]:
    username = f"scoped-viewer-{secrets.token_hex(3)}"
    return username, create_scoped_viewer(stack.stack, username, allowed_dags)


def test_the_instance_api_lists_and_serves_only_the_readable_instance(
    stack: StackHandle,
    instances: tuple[Shown, Shown],
    allowed_dags: set[str],
    scoped_login: tuple[str, str],
) -> None:
    allowed, hidden = instances
    token = token_of(stack.stack, *scoped_login)
    admin_token = stack.stack.rest("admin").token()
    with httpx.Client(base_url=stack.stack.airflow_url, timeout=60) as client:
        as_admin = {"Authorization": f"Bearer {admin_token}"}
        everyone = {i["id"] for i in client.get(f"{API}/instances", headers=as_admin).json()}
        assert {allowed.id, hidden.id} <= everyone  # the hidden one does exist
        client.headers["Authorization"] = f"Bearer {token}"
        # Airflow's own API agrees on what the role reads: the allowed instance's DAGs only.
        dags = client.get("/api/v2/dags", params={"limit": 100}).json()["dags"]
        assert {d["dag_id"] for d in dags} == allowed_dags
        assert [i["id"] for i in client.get(f"{API}/instances").json()] == [allowed.id]
        assert client.get(f"{API}/instances/{allowed.id}").status_code == 200
        unknown = client.get(f"{API}/instances/sv-unknown")
        refused = client.get(f"{API}/instances/{hidden.id}")
    # A hidden instance is refused exactly as an unknown one is (only the asked id differs),
    # and the unknown id's answer lists no hidden instance.
    assert (refused.status_code, unknown.status_code) == (404, 404)
    assert refused.json()["detail"].replace(hidden.id, "ID") == unknown.json()["detail"].replace(
        "sv-unknown", "ID"
    )
    assert hidden.id not in unknown.text
    assert hidden.customer not in refused.text + unknown.text


def test_in_the_ui_the_viewer_sees_only_the_readable_instance(
    stack: StackHandle,
    browser: Browser,
    screenshots_dir: Path,
    instances: tuple[Shown, Shown],
    scoped_login: tuple[str, str],
) -> None:
    allowed, hidden = instances
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    page = context.new_page()
    page.set_default_timeout(30_000)
    shots = ui_scenario.Screenshots(screenshots_dir / "scoped-viewer")
    shots.directory.mkdir(exist_ok=True)
    try:
        ui_scenario.scoped_viewer_sees_only(
            page, stack.stack.airflow_url, scoped_login, shots, allowed=allowed, hidden=hidden
        )
    except Exception:
        page.screenshot(path=str(screenshots_dir / "scoped-viewer-failure.png"))
        raise
    finally:
        context.close()
