"""docker-compose.yml is valid and runs the same commands as the local run (acsync/commands.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from acsync import commands
from workers.config import load_stores

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_is_valid_for_docker_compose():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); .ci/run installs it")
    for profile in ([], ["--profile", "sandbox"]):
        done = subprocess.run([binary, *profile, "config", "-q"], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr


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
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest:create_app()"' in dockerfile


def test_the_example_stores_file_loads():
    env = {"MYSTORE_HOOK_SECRET": "s" * 24, "MYSTORE_AC_TOKEN": "t", "MYSTORE_VTEX_KEY": "k",
           "MYSTORE_VTEX_TOKEN": "v"}
    stores = load_stores(ROOT / "stores.example.toml", env)
    assert stores["mystore"].activecampaign.connection_id == 1
    assert stores["mystore"].vtex.api_url == "https://mystore.vtexcommercestable.com.br"
