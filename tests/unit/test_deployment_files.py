"""The Dockerfile and docker-compose.yml describe a deployment that can run as written.

Docker is not on every machine that runs the suite, so the files are read here
for what they promise (every role, commands the CLI accepts, a non-root user,
secrets only from the environment); ``docker compose config`` checks the file
where a Docker client is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from connector.cli.main import cli
from tests.conftest import ROOT


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def connector_services() -> dict[str, Any]:
    return {name: service for name, service in compose()["services"].items()
            if service.get("image", "").startswith("mastery-connector")}


def test_compose_runs_every_role_against_postgresql_and_rabbitmq() -> None:
    services = compose()["services"]
    assert set(services) == {"api", "scheduler", "worker", "postgres", "rabbitmq"}
    roles = {name: service["command"][:2] for name, service in connector_services().items()}
    assert roles == {"api": ["connector", "serve"], "scheduler": ["connector", "scheduler"],
                     "worker": ["connector", "worker"]}
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["scheduler"]["command"][-2:] == ["--backend", "celery"]
    for name, service in connector_services().items():
        env = service["environment"]
        assert env["CONNECTOR_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert env["CONNECTOR_BROKER_URL"].startswith("amqp://"), name
        assert set(service["depends_on"]) == {"postgres", "rabbitmq"}, name


def test_secrets_in_compose_come_from_the_environment() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for service in connector_services().values():
        for key, value in service["environment"].items():
            if "PASSWORD" in key or "TOKEN" in key or "URL" in key:
                assert "${" in str(value), key
    assert "guest" not in text


@pytest.mark.parametrize("name", ["api", "scheduler", "worker"])
def test_each_compose_command_is_one_the_cli_accepts(name: str) -> None:
    command = connector_services()[name]["command"]
    result = CliRunner().invoke(cli, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {command[1]}")


def test_the_image_is_built_in_two_stages_and_runs_as_a_user() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    final = lines[lines.index(stages[1]):]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("--from=build" in line for line in final)
    assert not any(line.startswith("COPY connector") for line in final)  # only the wheel


def test_docker_compose_accepts_the_file_where_docker_is_installed() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True,
                                        timeout=60).returncode != 0:
        pytest.skip("no Docker client with compose on this machine; the file is read above")
    env = {**os.environ, "POSTGRES_PASSWORD": "p", "RABBITMQ_PASSWORD": "r"}
    done = subprocess.run([docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config",
                           "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
