"""The deployment files: the compose file is accepted by a real Compose, and names what the README says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) when it works, else Debian's `docker-compose` (v1), else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_accepts_the_file() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no Compose installed (apt-get install docker-compose); .ci/run installs it")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {"db", "web", "worker"}
    assert resolved["services"]["worker"]["environment"]["EGOVFLOW_EMBEDDED_WORKER"] == "0"
    assert resolved["services"]["web"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_image_builds_assets_in_node_and_serves_with_gunicorn() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    stages = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert stages[0].startswith("node:") and stages[-1].startswith("python:"), stages
    assert "gunicorn" in dockerfile


def test_the_app_refuses_the_compose_files_placeholder_secret() -> None:
    from service import create_app

    with pytest.raises(RuntimeError, match="EGOVFLOW_SECRET_KEY"):
        create_app({"SECRET_KEY": "change-me", "DATABASE_URL": "sqlite://"})
    assert "${EGOVFLOW_SECRET_KEY:-change-me}" in COMPOSE.read_text()  # the value the app refuses
