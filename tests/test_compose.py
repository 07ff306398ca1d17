"""docker-compose.yml is valid and runs the same commands as the local run (acsync/commands.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from acsync import commands
from workers.config import load_stores

ROOT = Path(__file__).resolve().parent.parent


def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); .ci/run installs it")
    return binary


def compose_env(tmp_path: Path, **extra: str) -> tuple[list[str], dict[str, str]]:
    """An empty --env-file (a developer's .env must not decide the outcome) and the environment without
    FLOWER_BASIC_AUTH unless given."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    return ["--env-file", str(empty)], {**env, **extra}


def test_compose_file_is_valid_for_docker_compose(tmp_path):
    binary = docker_compose()
    # Flower's login has no default (compose refuses to start without one): give it one, as .env would
    options, env = compose_env(tmp_path, FLOWER_BASIC_AUTH="ci:not-a-real-password")
    for profile in ([], ["--profile", "sandbox"]):
        done = subprocess.run([binary, *options, *profile, "config", "-q"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr


def test_compose_refuses_to_start_without_a_flower_password(tmp_path):
    options, env = compose_env(tmp_path)
    done = subprocess.run([docker_compose(), *options, "config", "-q"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode != 0 and "set FLOWER_BASIC_AUTH=user:password" in done.stderr, done.stderr


def test_compose_services_run_the_local_run_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(commands.SERVICES) <= set(services)
    for name, argv in commands.SERVICES.items():
        command = services[name]["command"]
        assert command[: len(argv)] == argv, name
        extra = command[len(argv):]
        assert extra in ([], ["--host", "0.0.0.0", "--port", "8081"], ["--host", "0.0.0.0", "--port", "8082"]), name
    assert services["redis"]["healthcheck"] and "redis-data:/data" in services["redis"]["volumes"]
    assert services["ac-sandbox"]["profiles"] == ["sandbox"] == services["vtex-sandbox"]["profiles"]
    # no published default password: the variable is required (${VAR:?message})
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest:create_app()"' in dockerfile


def test_the_example_stores_file_loads():
    env = {"MYSTORE_HOOK_SECRET": "s" * 24, "MYSTORE_AC_TOKEN": "t", "MYSTORE_VTEX_KEY": "k",
           "MYSTORE_VTEX_TOKEN": "v"}
    stores = load_stores(ROOT / "stores.example.toml", env)
    assert stores["mystore"].activecampaign.connection_id == 1
    assert stores["mystore"].vtex.api_url == "https://mystore.vtexcommercestable.com.br"
