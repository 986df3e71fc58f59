"""`deploy.loopback`: compose addresses and container paths as local ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.loopback import Endpoint, LoopbackMap, UnknownAddress


@pytest.fixture
def loopback() -> LoopbackMap:
    mapping = LoopbackMap(paths={"/opt/airflow/instances": Path("/tmp/state/instances")})
    mapping.add("airflow-apiserver", 8080, Endpoint("127.0.0.1", 41000))
    mapping.add("postgres", 5432, Endpoint("127.0.0.1", 5432))
    mapping.add("redis", 6379, Endpoint("127.0.0.1", 6379, path="/7", userinfo=":"))
    mapping.add("relay-ingest", 8000, Endpoint("127.0.0.1", 42000))
    return mapping


def test_urls_to_services_point_at_their_local_ports(loopback: LoopbackMap) -> None:
    assert (
        loopback.rewrite_urls("http://airflow-apiserver:8080/execution/")
        == "http://127.0.0.1:41000/execution/"
    )
    assert (
        loopback.rewrite_urls("postgresql+psycopg2://u:p@postgres:5432/airflow")
        == "postgresql+psycopg2://u:p@127.0.0.1:5432/airflow"
    )
    # The local Redis has no password and lends another database number.
    assert loopback.rewrite_urls("redis://:secret@redis:6379/0") == "redis://:@127.0.0.1:6379/7"


def test_urls_inside_json_and_to_unknown_hosts(loopback: LoopbackMap) -> None:
    text = '{"host": "http://relay-ingest:8000", "x": "https://api.example.com:443/v1"}'
    assert loopback.rewrite_urls(text) == (
        '{"host": "http://127.0.0.1:42000", "x": "https://api.example.com:443/v1"}'
    )


def test_localhost_in_a_health_check_means_the_service_itself(loopback: LoopbackMap) -> None:
    test = ["CMD", "curl", "--fail", "http://localhost:8080/api/v2/monitor/health"]
    assert loopback.health_urls(test, service="airflow-apiserver") == [
        "http://127.0.0.1:41000/api/v2/monitor/health"
    ]


def test_command_flags_bind_loopback_and_local_ports(loopback: LoopbackMap) -> None:
    argv = ["serve", "--no-dispatcher", "--host", "0.0.0.0", "--port", "8000"]
    assert loopback.rewrite_arguments(argv, service="relay-ingest") == [
        "serve",
        "--no-dispatcher",
        "--host",
        "127.0.0.1",
        "--port",
        "42000",
    ]
    with pytest.raises(UnknownAddress, match="relay-ingest:9999"):
        loopback.rewrite_arguments(["--port", "9999"], service="relay-ingest")


def test_container_paths_become_local_paths(loopback: LoopbackMap) -> None:
    assert loopback.rewrite_path("/opt/airflow/instances") == "/tmp/state/instances"
    assert loopback.rewrite_path("/opt/airflow/instances/a.yaml") == "/tmp/state/instances/a.yaml"
    assert loopback.rewrite_path("/opt/airflow/instancesX") == "/opt/airflow/instancesX"
