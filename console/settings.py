"""The console's configuration, from the one settings object: ``console_settings(settings)``.

The variables are rows of :data:`acsync_core.settings.ENVIRONMENT`, read and range-checked there with
the rest (optional at that level: ingest and workers run without them); this module reads no
environment. :func:`console_settings` turns them into what the console uses, and requires its two:

* ``ACSYNC_CONSOLE_SECRET_KEY``: required, at least 32 characters; signs the session cookie and CSRF tokens.
* ``ACSYNC_CONSOLE_USERS``: required, ``name:role:hash;name:role:hash``; role ``operator`` or ``viewer``,
  hash from ``acsync console hash-password`` (werkzeug's ``scrypt:...`` or ``pbkdf2:...``).
* ``ACSYNC_CONSOLE_INSECURE_COOKIES``: ``1`` drops the cookies' ``Secure`` flag, for plain http on a
  developer's machine only.
* ``ACSYNC_CONSOLE_SESSION_HOURS``: how long a login lasts (8; more than 0, at most 168).
* ``ACSYNC_CONSOLE_PROXY_HOPS``: reverse proxies in front that set ``X-Forwarded-For``/``-Proto``
  (0 to 5; 0: trust none).

There are no default users or passwords: a console without both required variables refuses to start,
and the error says which variable is missing and how to make its value (never the value itself).
The bind address is gunicorn's (``ACSYNC_CONSOLE_BIND`` in ``console/gunicorn_conf.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from acsync_core.settings import ConfigError, Settings

ROLES = ("viewer", "operator")
MIN_SECRET_KEY_LENGTH = 32
HASH_METHODS = ("scrypt", "pbkdf2")  # what werkzeug.security.check_password_hash verifies
USER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class ConsoleConfigError(ConfigError):
    """The console's configuration cannot be used; the message names the variable (never its value)."""


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    role: str
    password_hash: str = field(repr=False)

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class ConsoleSettings:
    secret_key: str = field(repr=False)
    users: Mapping[str, ConsoleUser]
    secure_cookies: bool = True
    session_hours: float = 8.0
    proxy_hops: int = 0
    max_failed_logins: int = 5  # per user name and client address, within the window below
    failed_login_window_seconds: int = 900


def parse_users(text: str) -> dict[str, ConsoleUser]:
    """``alice:operator:<hash>;bob:viewer:<hash>`` (newlines work as separators too)."""
    users: dict[str, ConsoleUser] = {}
    for position, item in enumerate((part.strip() for part in re.split(r"[;\n]", text)), start=1):
        if not item:
            continue
        name, _, rest = item.partition(":")
        role, _, password_hash = rest.partition(":")
        where = f"ACSYNC_CONSOLE_USERS, user {position}"
        if not USER_NAME_RE.match(name):
            raise ConsoleConfigError(f"{where}: the name must be letters, digits and _ . @ - (1 to 64 characters)")
        where = f"ACSYNC_CONSOLE_USERS, user {name!r}"
        if role not in ROLES:
            raise ConsoleConfigError(f"{where}: the role must be one of {', '.join(ROLES)} (name:role:hash)")
        method = password_hash.split("$", 1)[0].split(":", 1)[0]
        if password_hash.count("$") != 2 or method not in HASH_METHODS:
            raise ConsoleConfigError(
                f"{where}: the third part must be a password hash from "
                "`acsync console hash-password` (scrypt:... or pbkdf2:...), not a password"
            )
        if name in users:
            raise ConsoleConfigError(f"{where}: the name is given twice")
        users[name] = ConsoleUser(name=name, role=role, password_hash=password_hash)
    return users


def console_settings(settings: Settings) -> ConsoleSettings:
    """The console's logins, key and cookie settings, from ``settings`` (no environment read here).

    Raises :class:`ConsoleConfigError` naming the variable that is missing or wrong, never its value.
    """
    secret_key = settings.console_secret_key or ""
    if not secret_key:
        raise ConsoleConfigError(
            "ACSYNC_CONSOLE_SECRET_KEY is not set: the console needs a random secret of at "
            'least 32 characters, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConsoleConfigError(
            f"ACSYNC_CONSOLE_SECRET_KEY: must be at least {MIN_SECRET_KEY_LENGTH} characters (it is {len(secret_key)})"
        )
    users = parse_users(settings.console_users or "")
    if not users:
        raise ConsoleConfigError(
            "ACSYNC_CONSOLE_USERS is not set: give name:role:hash;... with role operator or "
            "viewer and a hash from `acsync console hash-password` (there are no default users)"
        )
    return ConsoleSettings(
        secret_key=secret_key,
        users=users,
        secure_cookies=not settings.console_insecure_cookies,
        session_hours=settings.console_session_hours,
        proxy_hops=settings.console_proxy_hops,
    )
