"""docker-compose.yml is valid and runs the same commands as the local run (acsync/commands.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from acsync import commands
from acsync_core.settings import load_stores

ROOT = Path(__file__).resolve().parent.parent


def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed (apt-get install docker-compose); .ci/run installs it")
    return binary


REQUIRED = ("FLOWER_BASIC_AUTH", "ACSYNC_CONSOLE_SECRET_KEY", "ACSYNC_CONSOLE_USERS")  # no defaults in compose
CONSOLE_ENV = {
    "ACSYNC_CONSOLE_SECRET_KEY": "ci-not-a-real-console-secret-key-0123456789",
    "ACSYNC_CONSOLE_USERS": "ci:operator:pbkdf2:sha256:1000$notasalt$notahash",
}


def compose_env(tmp_path: Path, **extra: str) -> tuple[list[str], dict[str, str]]:
    """An empty --env-file (a developer's .env must not decide the outcome) and the environment without
    FLOWER_BASIC_AUTH unless given, with the console's key and users (CONSOLE_ENV) unless given ("" for
    none: compose's ${VAR:?} refuses an empty value as it does a missing one)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    return ["--env-file", str(empty)], {**env, **CONSOLE_ENV, **extra}


def test_compose_file_is_valid_for_docker_compose(tmp_path):
    binary = docker_compose()
    # Flower's login has no default (compose refuses to start without one): give it one, as .env would
    options, env = compose_env(tmp_path, FLOWER_BASIC_AUTH="ci:not-a-real-password")
    for profile in ([], ["--profile", "sandbox"]):
        done = subprocess.run(
            [binary, *options, *profile, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
        )
        assert done.returncode == 0, done.stderr


def test_compose_refuses_to_start_without_a_flower_password(tmp_path):
    options, env = compose_env(tmp_path)
    done = subprocess.run(
        [docker_compose(), *options, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode != 0 and "set FLOWER_BASIC_AUTH=user:password" in done.stderr, done.stderr


def test_compose_refuses_to_start_without_the_consoles_key_or_users(tmp_path):
    for missing, message in (
        ("ACSYNC_CONSOLE_SECRET_KEY", "set ACSYNC_CONSOLE_SECRET_KEY in .env"),
        ("ACSYNC_CONSOLE_USERS", "set ACSYNC_CONSOLE_USERS=name:role:hash in .env"),
    ):
        options, env = compose_env(tmp_path, FLOWER_BASIC_AUTH="ci:not-a-real-password", **{missing: ""})
        done = subprocess.run(
            [docker_compose(), *options, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
        )
        assert done.returncode != 0 and message in done.stderr, done.stderr


def test_compose_services_run_the_local_run_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(commands.SERVICES) <= set(services)
    for name, argv in commands.SERVICES.items():
        command = services[name]["command"]
        assert command[: len(argv)] == argv, name
        extra = command[len(argv) :]
        assert extra in ([], ["--host", "0.0.0.0", "--port", "8081"], ["--host", "0.0.0.0", "--port", "8082"]), name
    assert services["redis"]["healthcheck"] and "redis-data:/data" in services["redis"]["volumes"]
    assert services["ac-sandbox"]["profiles"] == ["sandbox"] == services["vtex-sandbox"]["profiles"]
    # no published default password: the variable is required (${VAR:?message})
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    console = services["console"]["environment"]
    for name in ("ACSYNC_CONSOLE_SECRET_KEY", "ACSYNC_CONSOLE_USERS"):
        assert console[name].startswith("${" + name + ":?"), name
    assert console["ACSYNC_CONSOLE_BIND"] == "0.0.0.0:8090" and services["console"]["ports"] == ["127.0.0.1:8090:8090"]
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest:create_app()"' in dockerfile


def test_the_example_stores_file_loads():
    env = {"MYSTORE_HOOK_SECRET": "s" * 24, "MYSTORE_AC_TOKEN": "t", "MYSTORE_VTEX_KEY": "k", "MYSTORE_VTEX_TOKEN": "v"}
    stores = load_stores(ROOT / "stores.example.toml", env)
    assert stores["mystore"].activecampaign.connection_id == 1
    assert stores["mystore"].vtex.api_url == "https://mystore.vtexcommercestable.com.br"


SENTINEL_URL = "sentinel://sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/acsync/0"


def test_the_ha_profile_runs_a_primary_a_replica_and_three_sentinels_the_services_use(tmp_path):
    options, env = compose_env(
        tmp_path, FLOWER_BASIC_AUTH="ci:not-a-real-password", ACSYNC_REDIS_URL=SENTINEL_URL, **CONSOLE_ENV
    )
    done = subprocess.run(
        [docker_compose(), *options, "--profile", "ha", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    for name in ("ingest", "worker", "writer", "beat", "flower", "console"):
        assert services[name]["environment"]["REDIS_URL"] == SENTINEL_URL, name
    assert "--replicaof" in services["redis-replica"]["command"]
    sentinels = [name for name in services if name.startswith("sentinel-")]
    assert sorted(sentinels) == ["sentinel-1", "sentinel-2", "sentinel-3"]
    assert all(services[name]["profiles"] == ["ha"] for name in ["redis-primary", "redis-replica", *sentinels])


def test_the_ha_sentinels_config_is_one_a_real_sentinel_runs(tmp_path):
    """The config the compose sentinels write, pointed at a private primary: redis-sentinel accepts it."""
    import redis

    from acsync.localredis import free_port, sentinel_binary, start_private_redis

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    script = compose["services"]["sentinel-1"]["command"][2].replace("$$", "$")
    assert script.endswith("> /tmp/sentinel.conf && exec redis-sentinel /tmp/sentinel.conf")
    printed = subprocess.run(
        ["sh", "-c", script.split(" > /tmp/sentinel.conf")[0]], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    lines = printed.splitlines()
    assert "sentinel monitor acsync redis-primary 6379 2" in lines and "port 26379" in lines
    primary = start_private_redis()
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        printed.replace("port 26379", f"port {port}\nbind 127.0.0.1").replace(
            "redis-primary 6379", f"127.0.0.1 {primary.port}"
        )
    )
    command, _ = sentinel_binary()
    process = subprocess.Popen(
        [command[0], str(config), *command[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=1)
        for _ in range(100):
            try:
                address = client.sentinel_get_master_addr_by_name("acsync")
                break
            except redis.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                time.sleep(0.1)
        assert address == (b"127.0.0.1", primary.port) or tuple(address) == ("127.0.0.1", primary.port)
    finally:
        process.kill()
        process.wait()
        primary.stop()


def test_the_image_holds_every_package_the_project_installs():
    import tomllib
    from fnmatch import fnmatch

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").exists() and any(fnmatch(p.name, pattern) for pattern in patterns)
    )
    assert {"acsync", "acsync_core", "console", "ingest", "workers"} <= set(packages)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert [name for name in packages if f"COPY {name} ./{name}" not in dockerfile] == []
