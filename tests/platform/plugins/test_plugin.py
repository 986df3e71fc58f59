"""Plugin registration: what Airflow reads from the plugin class and from the plugins/ shim."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse
from airflow.plugins_manager import is_valid_plugin

from integration_platform.plugins import registration
from integration_platform.plugins.plugin import IntegrationsPlugin

SHIM = Path(__file__).resolve().parents[3] / "plugins" / "integrations_plugin.py"


def test_the_plugin_is_valid_and_mounts_outside_airflows_reserved_prefixes():
    assert is_valid_plugin(IntegrationsPlugin)
    (app,) = IntegrationsPlugin.fastapi_apps
    assert app["url_prefix"] == "/integrations"
    assert not any(app["url_prefix"].startswith(p) for p in RESERVED_URL_PREFIXES)


def test_the_nav_entry_is_what_airflows_ui_expects():
    (view,) = IntegrationsPlugin.external_views
    parsed = ExternalViewResponse.model_validate(view)
    assert parsed.destination == "nav"
    assert parsed.href == "/integrations/"
    assert parsed.url_route == "integrations"  # shown inside Airflow at /plugin/integrations


def test_the_entry_point_names_the_plugin_class():
    # The editable install of this repository declares it (top-level pyproject.toml).
    assert registration.registered_by_entry_point()


def _load_shim(monkeypatch: pytest.MonkeyPatch, *, entry_point: bool) -> object:
    monkeypatch.setattr(registration, "registered_by_entry_point", lambda: entry_point)
    spec = importlib.util.spec_from_file_location("integrations_plugin_under_test", SHIM)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shim_defines_nothing_when_the_entry_point_registers_the_plugin(monkeypatch):
    module = _load_shim(monkeypatch, entry_point=True)
    assert not [v for v in vars(module).values() if is_valid_plugin(v)]


def test_the_shim_defines_the_plugin_without_the_entry_point(monkeypatch):
    module = _load_shim(monkeypatch, entry_point=False)
    assert [v for v in vars(module).values() if is_valid_plugin(v)] == [IntegrationsPlugin]
