"""Provider registration as Airflow sees it in this environment (editable install)."""

from __future__ import annotations

import json
from importlib import metadata
from importlib.resources import files

import jsonschema
import pytest

import acme_provider
from acme_provider.get_provider_info import get_provider_info
from acme_provider.hooks.acme_connection import CONN_FIELDS
from acme_provider.hooks.acme_erp import AcmeErpHook

DISTRIBUTION = "airflow-provider-acme-erp"


def test_provider_info_is_valid_against_airflows_schema() -> None:
    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == metadata.metadata(DISTRIBUTION)["Name"]
    assert info["versions"] == [metadata.version(DISTRIBUTION)] == [acme_provider.__version__]


def test_connection_type_points_at_the_hook_and_declares_the_form() -> None:
    (conn,) = get_provider_info()["connection-types"]
    assert conn["connection-type"] == AcmeErpHook.conn_type
    assert conn["hook-class-name"] == f"{AcmeErpHook.__module__}.{AcmeErpHook.__qualname__}"
    assert conn["hook-name"] == AcmeErpHook.hook_name
    assert conn["ui-field-behaviour"]["relabeling"] == {
        "host": "Acme API base URL",
        "password": "API key",
    }
    assert conn["conn-fields"] is CONN_FIELDS  # the form and the validation share one source


def test_entry_point_is_registered() -> None:
    (entry_point,) = [
        ep
        for ep in metadata.entry_points(group="apache_airflow_provider")
        if ep.dist is not None and ep.dist.name == DISTRIBUTION
    ]
    assert entry_point.load() is get_provider_info


@pytest.fixture(scope="module")
def providers_manager():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_providers_manager_lists_provider_hook_and_connection_fields(providers_manager) -> None:
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert providers_manager.providers[DISTRIBUTION].version == acme_provider.__version__
    hook = ProvidersManagerTaskRuntime().hooks["acme_erp"]
    assert hook.hook_class_name == "acme_provider.hooks.acme_erp.AcmeErpHook"
    assert hook.connection_id_attribute_name == "acme_conn_id"
    assert providers_manager.field_behaviours["acme_erp"]["hidden_fields"] == [
        "schema",
        "login",
        "port",
    ]
    widgets = {
        name.removeprefix("extra__acme_erp__")
        for name in providers_manager.connection_form_widgets
        if name.startswith("extra__acme_erp__")
    }
    assert widgets == set(CONN_FIELDS)
    (ui,) = [
        m
        for m in providers_manager.iter_connection_type_hook_ui_metadata()
        if m.connection_type == "acme_erp"
    ]
    assert ui.hook_name == "Acme ERP"
    assert ui.field_behaviour["relabeling"]["host"] == "Acme API base URL"
