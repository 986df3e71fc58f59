"""The plugin inside a real Airflow API server (the shared `stack`): auth, roles, escaping.

Airflow loads the plugin from the repository's `plugins/` folder *and* from the installed
distribution's `airflow.plugins` entry point; it must register exactly once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from integration_platform.integrations.instances import InstanceStore
from integration_platform.plugins.plugin import PLUGIN_NAME
from integration_platform.registry import integrations
from tests.support.instance_files import acme_erp_instance_file
from tests.support.stack import StackHandle

pytestmark = pytest.mark.slow
HTML = {"Accept": "text/html"}
EVIL_CUSTOMER = '<img src=x onerror="alert(1)"> & Sons'


@pytest.fixture
def listed_instance(stack: StackHandle) -> Iterator[str]:
    """An instance file whose customer name is HTML; removed again afterwards."""
    instance_id = f"ui-{secrets.token_hex(3)}"
    with acme_erp_instance_file(stack.stack.instances_dir, instance_id, EVIL_CUSTOMER):
        yield instance_id


def test_plugin_is_registered_once_with_its_nav_entry(stack: StackHandle) -> None:
    rest = stack.stack.rest("admin")
    plugins = rest.get("/api/v2/plugins", params={"limit": 100})["plugins"]
    ours = [p for p in plugins if p["name"] == PLUGIN_NAME]
    assert len(ours) == 1
    (view,) = ours[0]["external_views"]
    assert view["name"] == "Integrations"
    assert view["href"] == "/integrations/"
    assert view["url_route"] == "integrations"
    errors = rest.get("/api/v2/plugins/importErrors")["import_errors"]
    assert not [
        e for e in errors if PLUGIN_NAME in e["error"] or "integrations_plugin" in e["source"]
    ]


def test_unauthenticated_browsers_go_to_the_login_page(stack: StackHandle) -> None:
    with stack.airflow_http() as client:
        response = client.get("/integrations/", headers=HTML)
    assert response.status_code == 303
    # FAB's login page is `<base_url>/auth/login/`, SimpleAuthManager's `/auth/login`.
    location = urlsplit(response.headers["location"])
    assert location.path.rstrip("/") == "/auth/login"
    assert parse_qs(location.query)["next"][0].endswith("/integrations/")


def test_unauthenticated_scripts_get_401(stack: StackHandle) -> None:
    with stack.airflow_http() as client:
        assert client.get("/integrations/").status_code == 401
        assert client.post("/integrations/instances/x/pause").status_code == 401


def test_the_ui_session_cookie_is_accepted(stack: StackHandle) -> None:
    token = stack.stack.rest("viewer").token()
    with stack.airflow_http() as client:
        client.cookies.set("_token", token)
        response = client.get("/integrations/", headers=HTML)
    assert response.status_code == 200
    assert "<h1>Integrations</h1>" in response.text


def test_viewer_may_look_but_gets_403_on_mutating_actions(
    stack: StackHandle, listed_instance: str
) -> None:
    path = f"/integrations/instances/{listed_instance}"
    store = InstanceStore(stack.stack.instances_dir, integrations())
    before = store.path_for(listed_instance).read_text()
    with stack.airflow_http("viewer") as client:
        assert client.get(path, headers=HTML).status_code == 200
        for action in ("pause", "resume", "redeploy", "remove"):
            response = client.post(
                f"{path}/{action}", data={"confirm": listed_instance}, headers=HTML
            )
            assert response.status_code == 403, action
            assert "may not trigger DAG runs" in response.text
        assert client.get("/integrations/new", headers=HTML).status_code == 403
    assert store.path_for(listed_instance).read_text() == before


def test_role_user_may_trigger_but_not_deploy(stack: StackHandle) -> None:
    with stack.airflow_http("relay") as client:
        response = client.get("/integrations/new", headers=HTML)
    assert response.status_code == 403
    assert "may not manage Airflow connections" in response.text


def test_html_in_names_is_escaped_on_the_real_server(
    stack: StackHandle, listed_instance: str
) -> None:
    with stack.airflow_http("viewer") as client:
        pages = [
            client.get("/integrations/", headers=HTML).text,
            client.get(f"/integrations/instances/{listed_instance}", headers=HTML).text,
        ]
    for page in pages:
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; Sons" in page
