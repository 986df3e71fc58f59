"""Instance files: strict parsing with one error per problem naming file, field and reason;
the store isolates broken files and saves atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from acme_erp_integration.definition import LIMITS_PAGE
from integration_platform.integrations.alerts import alert_defaults
from integration_platform.integrations.drift import drift_defaults
from integration_platform.integrations.instances import (
    INSTANCES_DIR_ENV,
    Instance,
    InstanceFileError,
    InstanceNotFound,
    InstanceStore,
    resolve_instances_dir,
)
from integration_platform.integrations.limits import limit_defaults
from integration_platform.registry import integrations
from tests.dags.support import instance_data, write_instance


@pytest.fixture
def store(tmp_path: Path) -> InstanceStore:
    return InstanceStore(tmp_path / "instances", integrations())


def load_broken(store: InstanceStore, data: dict, name: str | None = None) -> InstanceFileError:
    path = write_instance(store.directory, data, name)
    with pytest.raises(InstanceFileError) as caught:
        store.load_file(path)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


def test_a_valid_file_loads_with_defaults(store: InstanceStore) -> None:
    write_instance(store.directory, instance_data("shop-1", warehouses=["north"]))
    instance = store.get("shop-1")
    assert instance.config == {
        "progix_tenant": "shop-1",
        "warehouses": ["north"],
        "backfill_on_deploy": False,
        "sync_page_size": 100,
        "invalid_records": "fail",
        **alert_defaults(),
        **limit_defaults(LIMITS_PAGE),
        **drift_defaults(),
    }
    assert instance.connections == {
        "acme_connection": "acme_erp__shop-1",
        "progix_connection": "progix__shop-1",
    }


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"colour": "red"}, "colour", "unknown key"),
        ({"config": {"progix_tenant": "t", "colour": "red"}}, "config.colour", "unknown key"),
        ({"generation": "first"}, "generation", "valid integer"),
        ({"config": {"progix_tenant": "t", "warehouses": 7}}, "config.warehouses", "valid list"),
        ({"config": {}}, "config.progix_tenant", "required"),
        ({"state": "sleeping"}, "state", "deploying"),
        ({"integration": "salesforce"}, "integration", "unknown integration"),
        (
            {
                "connections": {
                    "acme_connection": "acme_erp__other",
                    "progix_connection": "progix__shop-1",
                }
            },
            "connections.acme_connection",
            "must be 'acme_erp__shop-1'",
        ),
    ],
)
def test_each_problem_is_one_error_naming_file_field_and_reason(
    store, change, field, reason
) -> None:
    error = load_broken(store, {**instance_data("shop-1"), **change})
    assert [(e.field, reason in e.reason) for e in error.errors] == [(field, True)]


def test_bad_id_is_named(store: InstanceStore) -> None:
    error = load_broken(store, instance_data("Shop_1"), name="Shop_1")
    assert [e.field for e in error.errors] == ["id"]
    assert "pattern" in error.errors[0].reason


def test_id_must_match_the_file_name(store: InstanceStore) -> None:
    error = load_broken(store, instance_data("shop-1"), name="shop-2")
    assert [(e.field, e.reason) for e in error.errors] == [
        ("id", "must match the file name ('shop-2')")
    ]


def test_not_yaml_or_not_a_mapping(store: InstanceStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "a1.yaml").write_text("id: [unclosed\n")
    (store.directory / "a2.yaml").write_text("- just\n- a list\n")
    instances, errors = store.scan()
    assert instances == []
    assert [(e.path.name, e.errors[0].field) for e in errors] == [
        ("a1.yaml", "(file)"),
        ("a2.yaml", "(file)"),
    ]
    assert "not valid YAML" in errors[0].errors[0].reason
    assert "must be a YAML mapping" in errors[1].errors[0].reason


def test_scan_keeps_good_instances_next_to_broken_ones(store: InstanceStore) -> None:
    write_instance(store.directory, instance_data("good-1"))
    write_instance(store.directory, {**instance_data("bad-1"), "generation": 0})
    write_instance(store.directory, instance_data("good-2"))
    instances, errors = store.scan()
    assert [i.id for i in instances] == ["good-1", "good-2"]
    assert [(e.path.name, e.errors[0].field) for e in errors] == [("bad-1.yaml", "generation")]


def test_get_unknown_lists_known_instances(store: InstanceStore) -> None:
    write_instance(store.directory, instance_data("shop-1"))
    with pytest.raises(InstanceNotFound, match="no instance 'shop-9'; known instances: shop-1"):
        store.get("shop-9")


def test_save_round_trips_and_leaves_no_temporary_files(store: InstanceStore) -> None:
    instance = Instance.model_validate(instance_data("shop-1", warehouses=["a"]))
    path = store.save(instance)
    assert store.get("shop-1") == store.load_file(path)
    assert store.get("shop-1").config["warehouses"] == ["a"]
    assert sorted(p.name for p in store.directory.iterdir()) == ["shop-1.yaml"]


def test_invalid_instance_is_never_saved(store: InstanceStore) -> None:
    store.save(Instance.model_validate(instance_data("shop-1")))
    before = store.path_for("shop-1").read_bytes()
    broken = Instance.model_validate(
        {**instance_data("shop-1"), "config": {"progix_tenant": "t", "x": 1}}
    )
    with pytest.raises(ValueError, match=r"config\.x: unknown key"):
        store.save(broken)
    assert store.path_for("shop-1").read_bytes() == before


def test_a_save_failing_midway_keeps_the_old_file_whole(store, monkeypatch) -> None:
    store.save(Instance.model_validate(instance_data("shop-1")))
    before = store.path_for("shop-1").read_bytes()

    def disk_full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    changed = Instance.model_validate({**instance_data("shop-1"), "generation": 2})
    with pytest.raises(OSError, match="No space left"):
        store.save(changed)
    assert store.path_for("shop-1").read_bytes() == before
    assert sorted(p.name for p in store.directory.iterdir()) == ["shop-1.yaml"]


def test_saved_files_hold_no_secrets_only_connection_ids(store: InstanceStore) -> None:
    path = store.save(Instance.model_validate(instance_data("shop-1")))
    data = yaml.safe_load(path.read_text())
    assert data["connections"] == {
        "acme_connection": "acme_erp__shop-1",
        "progix_connection": "progix__shop-1",
    }
    assert "password" not in path.read_text()


def test_instances_dir_comes_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(INSTANCES_DIR_ENV, raising=False)
    assert resolve_instances_dir(tmp_path / "default") == tmp_path / "default"
    monkeypatch.setenv(INSTANCES_DIR_ENV, str(tmp_path / "elsewhere"))
    assert resolve_instances_dir(tmp_path / "default") == tmp_path / "elsewhere"
