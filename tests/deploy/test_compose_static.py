"""Static checks of the production shape: docker-compose.yaml, .env.example, the Dockerfiles.

There is no Docker engine in CI, so these read the files: the compose file parses, every
service is complete, every variable is documented, the addresses services use to reach each
other match the ports they listen on, and the Dockerfiles copy files that exist.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from deploy.compose import ComposeFile, Service
from deploy.envfile import parse_env, read_env_file, render_env
from deploy.replicas import CONTAINER_PATHS, ENTRYPOINTS

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ComposeFile.load(REPO_ROOT / "docker-compose.yaml")
EXAMPLE = read_env_file(REPO_ROOT / ".env.example")
# A complete .env, as `python3 -m deploy.envfile` writes it.
VARIABLES = parse_env(
    render_env((REPO_ROOT / ".env.example").read_text(), COMPOSE.path.read_text())
)
ONE_SHOT = {"airflow-init", "relay-migrate"}  # run to completion before the others start
ON_DEMAND = {"acme-erp"}  # `docker compose run --rm acme-erp ...`
# Commands the distributed run executes for real (tests/deploy/test_distributed.py).
AIRFLOW_SUBCOMMANDS = {"api-server", "scheduler", "dag-processor", "triggerer", "celery"}
AIRFLOW_API_PORT = 8080  # Airflow's default [api] port, which the api-server container keeps
EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-maintenance",
    "acme-erp",
    "relay-migrate",
    "relay-ingest",
    "relay-dispatcher",
    "sandbox-acme",
    "sandbox-progix",
}


def _service(name: str) -> Service:
    return COMPOSE.service(name, VARIABLES)


def _listening_ports(service: Service) -> set[int]:
    """Ports a service's process listens on: published/exposed ones and its `--port` flag."""
    ports = set(service.container_ports)
    command = service.command
    ports |= {int(command[i + 1]) for i, arg in enumerate(command[:-1]) if arg == "--port"}
    return ports


def _urls(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"',]+", text)


def test_the_compose_file_has_the_official_shape_plus_relay_and_demo() -> None:
    assert set(COMPOSE.service_names) == EXPECTED_SERVICES
    assert "x-airflow-common" in COMPOSE.raw
    worker = _service("airflow-worker")
    assert worker.environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker.environment["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".FabAuthManager")
    assert worker.command == ["celery", "worker"]
    assert _service("sandbox-acme").profiles == ["demo"]
    assert _service("sandbox-progix").profiles == ["demo"]
    # Production services are not behind a profile: `docker compose up` starts them all.
    for name in EXPECTED_SERVICES - {"sandbox-acme", "sandbox-progix", "acme-erp"}:
        assert not _service(name).profiles, name


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_every_service_has_an_image_a_command_and_a_health_check(name: str) -> None:
    service = _service(name)
    assert service.spec.get("image"), f"{name}: no image"
    built = "build" in service.spec
    # Services on an upstream image (postgres) run that image's own command.
    assert service.command or not built, f"{name}: no command"
    if name in ONE_SHOT:
        # A one-shot's exit code is its health: dependents wait for it to succeed.
        assert service.spec.get("restart") == "no"
        dependents = [
            other
            for other in EXPECTED_SERVICES
            if (_service(other).spec.get("depends_on") or {}).get(name)
        ]
        assert dependents, f"{name}: nothing waits for it"
        for other in dependents:
            condition = _service(other).spec["depends_on"][name]["condition"]
            assert condition == "service_completed_successfully", (other, name)
    elif name in ON_DEMAND:
        assert service.profiles, f"{name}: on-demand services sit behind a profile"
    else:
        test = (service.healthcheck or {}).get("test")
        assert test, f"{name}: no health check"
        assert test[0] in ("CMD", "CMD-SHELL"), name
        assert service.spec.get("restart") == "always", name


IMAGE_DISTRIBUTIONS = ("contracts", "acme_provider", "platform", "integrations/acme_erp")
"""The distributions whose wheels the Airflow image installs."""


def test_the_airflow_image_entrypoint_can_run_every_airflow_service_command() -> None:
    """The official entrypoint runs `bash ...`, `python ...` or `airflow ...`: anything else
    becomes `airflow <it>`, so other programs need their own `entrypoint:`."""
    runnable = {"bash", "python", "airflow", *AIRFLOW_SUBCOMMANDS}
    for name in EXPECTED_SERVICES:
        service = _service(name)
        if (service.spec.get("build") or {}).get("context") != ".":
            continue
        if service.spec.get("entrypoint"):
            scripts = "".join(
                (REPO_ROOT / d / "pyproject.toml").read_text() for d in IMAGE_DISTRIBUTIONS
            )
            assert scripts.count(f'{service.spec["entrypoint"][0]} = "'), (
                f"{name}: entrypoint is not a console script of a distribution in the image"
            )
            continue
        assert service.command[0] in runnable, f"{name}: {service.command}"


def test_every_variable_the_compose_file_uses_is_in_env_example_and_vice_versa() -> None:
    referenced = COMPOSE.referenced_variables() - {"HOSTNAME"}  # `$${HOSTNAME}`: the container's
    assert referenced - set(EXAMPLE) == set(), "document these in .env.example"
    assert set(EXAMPLE) - referenced == set(), "unused in docker-compose.yaml"


def test_env_example_holds_no_secret_and_every_secret_is_required() -> None:
    secret_like = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN)$")
    for name, value in EXAMPLE.items():
        if secret_like.search(name):
            assert value == "", f"{name} must be empty in .env.example (generated per install)"
    text = COMPOSE.path.read_text()
    for name in (n for n in EXAMPLE if secret_like.search(n)):
        assert re.search(r"\$\{" + name + r":\?", text), (
            f"compose must refuse to start without {name}"
        )


def test_a_generated_env_file_is_complete_and_its_fernet_key_works() -> None:
    from cryptography.fernet import Fernet

    assert all(VARIABLES[name] for name in EXAMPLE if name != "RELAY_PREVIOUS_SECRETS_FERNET_KEYS")
    Fernet(VARIABLES["AIRFLOW__CORE__FERNET_KEY"].encode())  # raises if malformed
    Fernet(VARIABLES["RELAY_SECRETS_FERNET_KEY"].encode())
    # Every service interpolates without a missing-variable error.
    for name in EXPECTED_SERVICES:
        _service(name)


def test_airflow_components_share_secrets_and_reach_the_api_server_by_service_name() -> None:
    airflow_services = [n for n in EXPECTED_SERVICES if n.startswith("airflow-")]
    for key in (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    ):
        assert len({_service(n).environment[key] for n in airflow_services}) == 1, key
    api = _service("airflow-apiserver")
    assert AIRFLOW_API_PORT in api.container_ports
    assert f"localhost:{AIRFLOW_API_PORT}/" in " ".join(api.healthcheck["test"])
    execution = urlsplit(api.environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (execution.hostname, execution.port, execution.path) == (
        "airflow-apiserver",
        AIRFLOW_API_PORT,
        "/execution/",
    )


def test_airflow_s_default_api_port_is_the_one_the_compose_file_assumes() -> None:
    from airflow.configuration import conf

    assert int(conf.get_default_value("api", "port")) == AIRFLOW_API_PORT
    assert int(conf.get_default_value("scheduler", "scheduler_health_check_server_port")) == 8974
    assert "localhost:8974/health" in " ".join(_service("airflow-scheduler").healthcheck["test"])


def test_the_relay_and_the_cli_reach_airflow_and_airflow_reaches_the_relay() -> None:
    for name in ("relay-ingest", "relay-dispatcher"):
        url = urlsplit(_service(name).environment["RELAY_AIRFLOW_URL"])
        assert (url.hostname, url.port) == ("airflow-apiserver", AIRFLOW_API_PORT), name
    cli = urlsplit(_service("acme-erp").environment["INTEGRATION_AIRFLOW_URL"])
    assert (cli.hostname, cli.port) == ("airflow-apiserver", AIRFLOW_API_PORT)
    # The Initialization flow registers webhooks at the relay's public URL, from this
    # connection, with the registrar token (routes and their secrets only).
    connection = json.loads(_service("airflow-worker").environment["AIRFLOW_CONN_WEBHOOK_RELAY"])
    relay = _service("relay-ingest")
    assert connection["host"] == relay.environment["RELAY_PUBLIC_URL"]
    assert connection["password"] == relay.environment["RELAY_REGISTRAR_TOKEN"]
    admin = urlsplit(connection["extra"]["admin_url"])
    assert admin.hostname == "relay-ingest"
    assert admin.port in _listening_ports(relay)
    assert (
        _service("acme-erp").environment["INTEGRATION_RELAY_REGISTRAR_TOKEN"]
        == (relay.environment["RELAY_REGISTRAR_TOKEN"])
    )
    public = urlsplit(EXAMPLE["RELAY_PUBLIC_URL"])
    assert public.hostname == "relay-ingest"
    assert public.port in _listening_ports(relay)


def test_no_airflow_component_holds_a_relay_key() -> None:
    """Airflow gets the registrar token only: never the relay's admin token or its at-rest
    key, and no signing key exists anywhere."""
    relay_only = {
        VARIABLES["RELAY_ADMIN_TOKEN"],
        VARIABLES["RELAY_SECRETS_FERNET_KEY"],
    }
    assert "SIGNING" not in COMPOSE.path.read_text()
    for name in EXPECTED_SERVICES:
        if name.startswith(("airflow-", "acme-erp")):
            values = " ".join(_service(name).environment.values())
            assert not any(secret in values for secret in relay_only), name


def test_every_url_to_a_compose_service_uses_a_port_that_service_listens_on() -> None:
    checked = 0
    for name in EXPECTED_SERVICES:
        service = _service(name)
        values = [*service.environment.values(), *service.command]
        for url in (u for value in values for u in _urls(value)):
            parts = urlsplit(url)
            if parts.hostname in EXPECTED_SERVICES:
                target = _service(parts.hostname)
                assert parts.port is not None, f"{name}: {url} must name its port"
                listening = _listening_ports(target) or {5432}  # postgres: the image's port
                assert parts.port in listening, (
                    f"{name}: {url} but {parts.hostname} listens on {listening}"
                )
                checked += 1
    assert checked >= 10


def test_the_relay_has_its_own_database_created_by_the_postgres_init_script() -> None:
    relay_url = urlsplit(_service("relay-dispatcher").environment["RELAY_DATABASE_URL"])
    airflow_url = urlsplit(
        _service("airflow-scheduler").environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert relay_url.hostname == airflow_url.hostname == "postgres"
    assert relay_url.path != airflow_url.path
    assert relay_url.username != airflow_url.username
    mounts = _service("postgres").spec["volumes"]
    script_mount = next(m for m in mounts if "docker-entrypoint-initdb.d" in m)
    source = script_mount.split(":", 1)[0]
    assert (REPO_ROOT / source).is_file()
    script = (REPO_ROOT / source).read_text()
    for name in ("RELAY_DB_USER", "RELAY_DB_PASSWORD", "RELAY_DB_NAME"):
        assert name in script
        assert name in _service("postgres").environment


def test_the_demo_instance_points_at_the_demo_simulators() -> None:
    request = yaml.safe_load((REPO_ROOT / "deploy" / "airflow" / "demo-instance.yaml").read_text())
    connections = request["connections"]
    for key, service_name in (
        ("acme_connection", "sandbox-acme"),
        ("progix_connection", "sandbox-progix"),
    ):
        url = urlsplit(connections[key]["host"])
        assert url.hostname == service_name
        assert url.port in _listening_ports(_service(service_name))
        assert connections[key]["password_env"] in _service("acme-erp").environment
    tenant = _service("sandbox-progix").environment["SANDBOX_PROGIX_TENANTS"].split(":", 1)[0]
    assert request["config"]["progix_tenant"] == tenant


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("context", sorted(ENTRYPOINTS))
def test_each_dockerfile_copies_files_that_exist_and_bakes_in_no_secret(context: str) -> None:
    directory = REPO_ROOT / context
    dockerfile = directory / "Dockerfile"
    assert dockerfile.is_file()
    instructions = _dockerfile_instructions(dockerfile)
    for keyword, argument in instructions:
        if keyword == "COPY" and "--from=" not in argument:
            sources = [a for a in shlex.split(argument) if not a.startswith("--")][:-1]
            for source in sources:
                assert (directory / source).exists(), f"{dockerfile}: COPY {source} is missing"
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY", argument), argument
    entrypoint = [json.loads(a) for k, a in instructions if k == "ENTRYPOINT"]
    if context == ".":
        assert entrypoint == []  # the official Airflow image's entrypoint
    else:
        assert entrypoint[-1] == [ENTRYPOINTS[context]]


def test_the_airflow_image_extends_the_official_one_with_the_provider_wheel() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG AIRFLOW_VERSION=3\.3\.\d+$", text, re.M)
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}$", text, re.M)
    assert "pip wheel" in text
    assert "/tmp/provider-dist/*.whl" in text
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in text  # Airflow itself stays pinned
    assert "apache-airflow-providers-fab" in text
    everything = "".join(
        p.read_text() for p in (REPO_ROOT / "Dockerfile", COMPOSE.path, REPO_ROOT / ".env.example")
    )
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in everything


def test_container_paths_used_by_the_compose_file_are_files_of_this_repository() -> None:
    init = _service("airflow-init").command
    assert init[0] == "python"
    container_path = init[1]
    prefix = next(p for p in CONTAINER_PATHS if container_path.startswith(p + "/"))
    root, relative = CONTAINER_PATHS[prefix].split(":", 1)
    assert root == "repo"
    assert (REPO_ROOT / relative / container_path[len(prefix) + 1 :]).is_file()
    # ... and the image puts them there.
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert f"{relative}/airflow/ {prefix}/airflow/" in text


def test_the_relay_role_can_trigger_and_read_dag_runs_and_nothing_more() -> None:
    """Triggering needs create on DAG Runs and edit on DAGs; the dispatcher's flow control
    reads run states (`POST /api/v2/dags/~/dagRuns/list`), which needs read on both, and
    which running runs have a started task (`.../taskInstances/list`: read on Task
    Instances)."""
    roles = json.loads((REPO_ROOT / "deploy" / "airflow" / "roles.json").read_text())
    assert {(r["name"], r["resource"], r["action"]) for r in roles} == {
        ("WebhookRelay", "DAG Runs", "can_create"),
        ("WebhookRelay", "DAGs", "can_edit"),
        ("WebhookRelay", "DAG Runs", "can_read"),
        ("WebhookRelay", "DAGs", "can_read"),
        ("WebhookRelay", "Task Instances", "can_read"),
    }


def test_no_secret_is_a_command_line_argument() -> None:
    """`ps` (and `docker inspect`) show commands: secrets go in the environment or a file."""
    secrets = {
        "${REDIS_PASSWORD",
        "${DEMO_ACME_API_KEY",
        "${DEMO_PROGIX_API_KEY",
        "--requirepass",
        "--account",
        "--tenant",
    }
    raw = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    for name, service in raw["services"].items():
        command = service.get("command") or []
        text = " ".join(command) if isinstance(command, list) else str(command)
        assert not [s for s in secrets if s in text], name
