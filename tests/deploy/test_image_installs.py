"""An image's install step, replayed in a clean virtualenv.

Each Dockerfile builds its distribution's wheel and installs it (with the extras it names)
into a bare Python; nothing else is in the image. Without a Docker engine, the closest
honest check is the same: build the wheel, install it into a fresh virtualenv, and start the
image's command until its health check answers. A dependency the code imports but the
wheel does not declare fails here exactly as it would in the container.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.processes import ManagedProcess, free_port

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"


def _install_wheel(
    directory: Path, extras: str, tmp_path: Path, *, with_wheels_of: tuple[Path, ...] = ()
) -> Path:
    """Build `directory`'s wheel (and those of the local distributions it depends on, as its
    Dockerfile does) and install them into a new virtualenv; its bin directory."""
    dist, deps, venv = tmp_path / "dist", tmp_path / "deps", tmp_path / "venv"
    for argv in (
        [str(UV), "build", "--quiet", "--wheel", "--out-dir", str(dist), str(directory)],
        *(
            [str(UV), "build", "--quiet", "--wheel", "--out-dir", str(deps), str(d)]
            for d in with_wheels_of
        ),
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)],
    ):
        subprocess.run(argv, check=True, timeout=300)
    (wheel,) = dist.glob("*.whl")
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            *map(str, deps.glob("*.whl")),
            f"{wheel}{extras}",
        ],
        check=True,
        timeout=600,
    )
    return venv / "bin"


def _serve_until_healthy(
    name: str, argv: list[str], port: int, env: dict[str, str], tmp_path: Path
) -> None:
    process = ManagedProcess(
        name,
        argv,
        log_path=tmp_path / f"{name}.log",
        env=env,
        cwd=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/healthz",
        ready_timeout=120,
    )
    with process:
        assert process.is_running()


def test_the_sandbox_image_install_serves(tmp_path: Path) -> None:
    bin_dir = _install_wheel(REPO_ROOT / "sandbox", "", tmp_path)
    port = free_port()
    _serve_until_healthy(
        "acme",
        [
            str(bin_dir / "sandbox"),
            "acme",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        port,
        {"PATH": f"{bin_dir}:/usr/bin:/bin", "SANDBOX_ACME_ACCOUNTS": "demo:image-check-key"},
        tmp_path,
    )


def test_the_relay_image_install_serves(tmp_path: Path) -> None:
    bin_dir = _install_wheel(
        REPO_ROOT / "relay", "[postgres]", tmp_path, with_wheels_of=(REPO_ROOT / "contracts",)
    )
    port = free_port()
    _serve_until_healthy(
        "relay",
        [
            str(bin_dir / "webhook-relay"),
            "serve",
            "--no-dispatcher",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        port,
        {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "RELAY_SECRETS_KEYS": "eKgnxD6kUqJ0wJxjDGWqB0jv6sVqv-o6ZTeFJ5CP5xM=",  # image check only
            "RELAY_DATABASE_URL": f"sqlite:///{tmp_path / 'relay.db'}",
        },
        tmp_path,
    )
