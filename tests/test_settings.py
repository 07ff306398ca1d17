"""One settings object from the environment: every variable documented, validated with clear errors,
and read nowhere else."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from acsync_core.settings import ENVIRONMENT, ConfigError, Settings, environment_settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_has_one_environment_variable_and_the_reverse():
    fields = {f.name for f in dataclasses.fields(Settings)} - {"stores"}
    assert sorted(var.field for var in ENVIRONMENT) == sorted(fields)
    assert len({var.name for var in ENVIRONMENT}) == len(ENVIRONMENT)


def test_defaults_are_the_documented_ones():
    settings = environment_settings({})
    for var in ENVIRONMENT:
        assert getattr(settings, var.field) == var.default, var.name


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ACSYNC_MAX_ATTEMPTS": "ten"}, "ACSYNC_MAX_ATTEMPTS: 'ten' is not an integer"),
        ({"ACSYNC_RETRY_BASE_SECONDS": "2s"}, "ACSYNC_RETRY_BASE_SECONDS: '2s' is not a number"),
        ({"ACSYNC_MAX_ATTEMPTS": "0"}, "ACSYNC_MAX_ATTEMPTS: 0 is below the minimum, 1"),
        ({"ACSYNC_CONSOLE_PROXY_HOPS": "6"}, "ACSYNC_CONSOLE_PROXY_HOPS: 6 is above the maximum, 5"),
        ({"ACSYNC_CONSOLE_PROXY_HOPS": "-1"}, "ACSYNC_CONSOLE_PROXY_HOPS: -1 is below the minimum, 0"),
        ({"ACSYNC_CONSOLE_SESSION_HOURS": "0"}, "ACSYNC_CONSOLE_SESSION_HOURS: 0 is not above the minimum, 0"),
        ({"ACSYNC_CONSOLE_SESSION_HOURS": "169"}, "ACSYNC_CONSOLE_SESSION_HOURS: 169 is above the maximum, 168"),
        ({"ACSYNC_CONSOLE_SESSION_HOURS": "8h"}, "ACSYNC_CONSOLE_SESSION_HOURS: '8h' is not a number"),
        ({"ACSYNC_CONSOLE_INSECURE_COOKIES": "yes"}, "ACSYNC_CONSOLE_INSECURE_COOKIES: 'yes' is not 0 or 1"),
        ({"ACSYNC_HOOKS_AUTOREPAIR": "yes"}, "ACSYNC_HOOKS_AUTOREPAIR: 'yes' is not 0 or 1"),
        ({"ACSYNC_LOG_LEVEL": "loud"}, "ACSYNC_LOG_LEVEL: 'LOUD' is not a log level"),
        ({"REDIS_URL": "http://h"}, "REDIS_URL: http://h: REDIS_URL must start with one of"),
    ],
)
def test_a_bad_value_names_the_variable(env, message):
    with pytest.raises(ConfigError) as caught:
        environment_settings(env)
    assert str(caught.value).startswith(message)


def test_values_are_read_and_empty_optional_ones_are_none():
    settings = environment_settings(
        {
            "ACSYNC_SPOOL_PATH": "",
            "ACSYNC_WORKER_METRICS_PORT": "9808",
            "ACSYNC_HOOKS_AUTOREPAIR": "1",
            "ACSYNC_SWEEP_GRACE_SECONDS": "20",
            "LOG_LEVEL": "warning",
        }
    )
    assert settings.spool_path is None and settings.worker_metrics_port == 9808 and settings.hooks_autorepair
    assert settings.sweep_grace_seconds == 20.0 and settings.log_level == "WARNING"


def test_a_bound_is_an_allowed_value_unless_the_minimum_is_exclusive():
    settings = environment_settings(
        {"ACSYNC_CONSOLE_PROXY_HOPS": "5", "ACSYNC_CONSOLE_SESSION_HOURS": "168", "ACSYNC_MAX_ATTEMPTS": "1"}
    )
    assert settings.console_proxy_hops == 5 and settings.console_session_hours == 168 and settings.max_attempts == 1
    assert environment_settings({"ACSYNC_CONSOLE_SESSION_HOURS": "0.5"}).console_session_hours == 0.5


def test_the_console_variables_are_optional_here_and_its_secrets_never_in_a_repr():
    assert environment_settings({}).console_secret_key is None and environment_settings({}).console_users is None
    secret_key = "a-console-secret-key-that-is-long-enough-0123"
    users = "alice:operator:pbkdf2:sha256:1000$a-distinctive-salt$a-distinctive-hash"
    settings = environment_settings(
        {"ACSYNC_CONSOLE_SECRET_KEY": secret_key, "ACSYNC_CONSOLE_USERS": users, "ACSYNC_CONSOLE_INSECURE_COOKIES": ""}
    )
    assert settings.console_secret_key == secret_key and settings.console_users == users
    assert not settings.console_insecure_cookies  # empty is the default, as unset
    shown = repr(settings)
    assert "console_session_hours=8.0" in shown  # the other console fields are shown
    for hidden in (
        secret_key,
        users,
        "a-distinctive-salt",
        "a-distinctive-hash",
        "console_secret_key",
        "console_users",
    ):
        assert hidden not in shown


# reading the environment is the settings module's job; these only pass it on to processes they start
PASS_THROUGH = {"acsync/localrun.py", "acsync/console_cmd.py"}
READERS = {"acsync_core/settings.py"}


def environment_reads(path: Path) -> list[int]:
    """Lines that read ``os.environ`` or call ``os.getenv`` (assigning ``os.environ[name] = ...`` is no read)."""
    tree = ast.parse(path.read_text(), str(path))
    written = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and id(node) not in written
    ]


def test_only_the_settings_module_reads_the_environment():
    found = {}
    for package in ("acclient", "acsync", "acsync_core", "console", "ingest", "workers"):
        for path in (ROOT / package).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name in READERS or name in PASS_THROUGH:
                continue
            reads = [
                n
                for n in environment_reads(path)
                if "os.environ[" not in path.read_text().splitlines()[n - 1]
                or "] =" not in path.read_text().splitlines()[n - 1]
            ]
            if reads:
                found[name] = reads
    assert found == {}
