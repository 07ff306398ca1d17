"""The console's configuration: required secret key and users, no defaults, clear errors.

The variables are read with every other one (acsync_core.settings); ``console_settings`` derives the
console's part from that one settings object and reads no environment.
"""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from acsync.cli import main
from acsync_core.settings import ConfigError, environment_settings
from console.app import create_app
from console.settings import ConsoleConfigError, ConsoleSettings, console_settings
from tests.console.conftest import SECRET_KEY, users_value


def env(**overrides: str) -> dict[str, str]:
    return {
        "ACSYNC_CONSOLE_SECRET_KEY": SECRET_KEY,
        "ACSYNC_CONSOLE_USERS": users_value(alice="operator", bob="viewer"),
        **overrides,
    }


def from_environment(given: dict[str, str]) -> ConsoleSettings:
    """What the console gets from an environment: the one settings object, then its console part."""
    return console_settings(environment_settings(given))


def test_a_complete_configuration_loads_with_secure_cookies_by_default():
    loaded = from_environment(env())
    assert set(loaded.users) == {"alice", "bob"}
    assert loaded.users["alice"].is_operator and not loaded.users["bob"].is_operator
    assert loaded.secure_cookies is True and loaded.session_hours == 8 and loaded.proxy_hops == 0
    assert "pbkdf2" not in repr(loaded) and SECRET_KEY not in repr(loaded)  # neither hashes nor the key in reprs


def test_session_hours_and_proxy_hops_are_read():
    loaded = from_environment(env(ACSYNC_CONSOLE_SESSION_HOURS="0.5", ACSYNC_CONSOLE_PROXY_HOPS="2"))
    assert loaded.session_hours == 0.5 and loaded.proxy_hops == 2
    with pytest.raises(ConfigError, match="ACSYNC_CONSOLE_SESSION_HOURS: 169 is above the maximum, 168"):
        from_environment(env(ACSYNC_CONSOLE_SESSION_HOURS="169"))
    with pytest.raises(ConfigError, match="ACSYNC_CONSOLE_PROXY_HOPS: 6 is above the maximum, 5"):
        from_environment(env(ACSYNC_CONSOLE_PROXY_HOPS="6"))


def test_insecure_cookies_only_when_asked_with_1():
    assert from_environment(env(ACSYNC_CONSOLE_INSECURE_COOKIES="1")).secure_cookies is False
    assert from_environment(env(ACSYNC_CONSOLE_INSECURE_COOKIES="0")).secure_cookies is True
    assert from_environment(env(ACSYNC_CONSOLE_INSECURE_COOKIES="")).secure_cookies is True
    with pytest.raises(ConfigError, match="ACSYNC_CONSOLE_INSECURE_COOKIES: 'yes' is not 0 or 1"):
        from_environment(env(ACSYNC_CONSOLE_INSECURE_COOKIES="yes"))


def test_the_secret_key_is_required_and_long():
    without = env()
    del without["ACSYNC_CONSOLE_SECRET_KEY"]
    with pytest.raises(ConsoleConfigError, match="ACSYNC_CONSOLE_SECRET_KEY is not set"):
        from_environment(without)
    with pytest.raises(ConsoleConfigError, match="at least 32 characters") as short:
        from_environment(env(ACSYNC_CONSOLE_SECRET_KEY="too-short-key-123"))
    assert "too-short-key-123" not in str(short.value)  # the error names the variable, never its value


def test_users_are_required_and_there_is_no_default_user():
    for value in (None, "", "  ;  "):
        given = env()
        if value is None:
            del given["ACSYNC_CONSOLE_USERS"]
        else:
            given["ACSYNC_CONSOLE_USERS"] = value
        with pytest.raises(ConsoleConfigError, match=r"ACSYNC_CONSOLE_USERS is not set.*no default users"):
            from_environment(given)


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ("alice:admin:pbkdf2:sha256:1000$salt$abc", "role must be one of viewer, operator"),
        ("alice:operator:hunter2-plain-password", "must be a password hash"),
        ("alice:operator:md5$salt$abc", "must be a password hash"),
        ("al ice:operator:pbkdf2:sha256:1000$salt$abc", "the name must be"),
        ("alice:viewer:pbkdf2:sha256:1000$s$a;alice:operator:pbkdf2:sha256:1000$s$b", "given twice"),
    ],
)
def test_bad_users_are_refused_with_the_user_named(users, message):
    with pytest.raises(ConsoleConfigError, match=message) as error:
        from_environment(env(ACSYNC_CONSOLE_USERS=users))
    assert "hunter2" not in str(error.value)


def test_the_app_refuses_to_start_without_its_configuration(monkeypatch, settings):
    without_key = dataclasses.replace(settings, console_users=users_value(alice="operator"))
    monkeypatch.setenv("ACSYNC_CONSOLE_SECRET_KEY", SECRET_KEY)  # the environment is not read again
    with pytest.raises(ConsoleConfigError, match="ACSYNC_CONSOLE_SECRET_KEY is not set"):
        create_app(without_key)


def test_the_app_takes_its_console_settings_from_the_settings_it_is_given(settings, redis_client):
    given = dataclasses.replace(
        settings,
        console_secret_key=SECRET_KEY,
        console_users=users_value(alice="operator"),
        console_insecure_cookies=True,
        console_session_hours=2.0,
    )
    app = create_app(given, redis_client=redis_client)
    assert app.secret_key == SECRET_KEY and app.config["SESSION_COOKIE_SECURE"] is False
    assert app.permanent_session_lifetime.total_seconds() == 2 * 3600
    assert set(app.extensions["acsync_console"].console.users) == {"alice"}


def test_console_serve_explains_what_is_missing(monkeypatch):
    monkeypatch.delenv("ACSYNC_CONSOLE_SECRET_KEY", raising=False)
    monkeypatch.delenv("ACSYNC_CONSOLE_USERS", raising=False)
    done = CliRunner().invoke(main, ["console", "serve"])
    assert done.exit_code == 2 and "ACSYNC_CONSOLE_SECRET_KEY is not set" in done.output


def test_hash_password_prints_a_hash_the_console_accepts():
    done = CliRunner().invoke(
        main,
        ["console", "hash-password", "--user", "carol", "--role", "operator"],
        input="a-long-enough-password\na-long-enough-password\n",
    )
    assert done.exit_code == 0, done.output
    item = done.stdout.strip().splitlines()[-1]
    assert "a-long-enough-password" not in done.stdout
    users = from_environment(env(ACSYNC_CONSOLE_USERS=item)).users
    assert users["carol"].role == "operator"
    assert check_password_hash(users["carol"].password_hash, "a-long-enough-password")


def test_hash_password_refuses_a_short_password():
    done = CliRunner().invoke(main, ["console", "hash-password"], input="short\nshort\n")
    assert done.exit_code == 2 and "at least 12 characters" in done.output
