"""The console's configuration: required secret key and users, no defaults, clear errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from acsync.cli import main
from console.app import create_app
from console.settings import ConsoleConfigError, load_console_settings
from tests.console.conftest import SECRET_KEY, users_value


def env(**overrides: str) -> dict[str, str]:
    return {
        "ACSYNC_CONSOLE_SECRET_KEY": SECRET_KEY,
        "ACSYNC_CONSOLE_USERS": users_value(alice="operator", bob="viewer"),
        **overrides,
    }


def test_a_complete_configuration_loads_with_secure_cookies_by_default():
    loaded = load_console_settings(env())
    assert set(loaded.users) == {"alice", "bob"}
    assert loaded.users["alice"].is_operator and not loaded.users["bob"].is_operator
    assert loaded.secure_cookies is True and loaded.session_hours == 8
    assert "pbkdf2" not in repr(loaded) and SECRET_KEY not in repr(loaded)  # neither hashes nor the key in reprs


def test_insecure_cookies_only_when_asked_with_1():
    assert load_console_settings(env(ACSYNC_CONSOLE_INSECURE_COOKIES="1")).secure_cookies is False
    assert load_console_settings(env(ACSYNC_CONSOLE_INSECURE_COOKIES="0")).secure_cookies is True
    with pytest.raises(ConsoleConfigError, match="ACSYNC_CONSOLE_INSECURE_COOKIES: must be 1 or 0"):
        load_console_settings(env(ACSYNC_CONSOLE_INSECURE_COOKIES="yes"))


def test_the_secret_key_is_required_and_long():
    without = env()
    del without["ACSYNC_CONSOLE_SECRET_KEY"]
    with pytest.raises(ConsoleConfigError, match="ACSYNC_CONSOLE_SECRET_KEY is not set"):
        load_console_settings(without)
    with pytest.raises(ConsoleConfigError, match="at least 32 characters") as short:
        load_console_settings(env(ACSYNC_CONSOLE_SECRET_KEY="too-short-key-123"))
    assert "too-short-key-123" not in str(short.value)  # the error names the variable, never its value


def test_users_are_required_and_there_is_no_default_user():
    for value in (None, "", "  ;  "):
        given = env()
        if value is None:
            del given["ACSYNC_CONSOLE_USERS"]
        else:
            given["ACSYNC_CONSOLE_USERS"] = value
        with pytest.raises(ConsoleConfigError, match=r"ACSYNC_CONSOLE_USERS is not set.*no default users"):
            load_console_settings(given)


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
        load_console_settings(env(ACSYNC_CONSOLE_USERS=users))
    assert "hunter2" not in str(error.value)


def test_the_app_refuses_to_start_without_its_configuration(monkeypatch, settings):
    monkeypatch.delenv("ACSYNC_CONSOLE_SECRET_KEY", raising=False)
    monkeypatch.setenv("ACSYNC_CONSOLE_USERS", users_value(alice="operator"))
    with pytest.raises(ConsoleConfigError, match="ACSYNC_CONSOLE_SECRET_KEY is not set"):
        create_app(settings)


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
    users = load_console_settings(env(ACSYNC_CONSOLE_USERS=item)).users
    assert users["carol"].role == "operator"
    assert check_password_hash(users["carol"].password_hash, "a-long-enough-password")


def test_hash_password_refuses_a_short_password():
    done = CliRunner().invoke(main, ["console", "hash-password"], input="short\nshort\n")
    assert done.exit_code == 2 and "at least 12 characters" in done.output
