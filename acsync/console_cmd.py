"""``acsync console``: serve the operations console, and make the password hashes its users need."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from acsync import commands

MIN_PASSWORD_LENGTH = 12


@click.group("console")
def console() -> None:
    """The operations console (a web app): stores, accounts, dead letters, trails, audit log."""


@console.command("serve")
@click.option("--bind", help="host:port to listen on (default: ACSYNC_CONSOLE_BIND, else 127.0.0.1:8090).")
def serve(bind: str | None) -> None:
    """Run the console under gunicorn (needs ACSYNC_CONSOLE_SECRET_KEY and ACSYNC_CONSOLE_USERS).

    The same command as docker-compose's console service: gunicorn -c python:console.gunicorn_conf
    'console:create_app()'. Cookies are Secure: serve it behind TLS, or set
    ACSYNC_CONSOLE_INSECURE_COOKIES=1 for plain http on your own machine.
    """
    from acsync_core.settings import ConfigError, environment_settings
    from console.settings import console_settings

    try:  # the environment's part of what the app loads: a clear message now, not a traceback from gunicorn
        console_settings(environment_settings())
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None
    program = shutil.which(
        commands.CONSOLE[0], path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if program is None:
        raise click.UsageError("gunicorn is not installed")
    if bind:
        os.environ["ACSYNC_CONSOLE_BIND"] = bind
    os.execv(program, [program, *commands.CONSOLE[1:]])  # noqa: S606 - our own argv, no shell


@console.command("hash-password")
@click.option("--user", help="Print a whole ACSYNC_CONSOLE_USERS item (user:role:hash) for this user name.")
@click.option(
    "--role",
    type=click.Choice(["operator", "viewer"]),
    default="viewer",
    show_default=True,
    help="The role in that item.",
)
def hash_password(user: str | None, role: str) -> None:
    """Ask for a password (twice, not echoed) and print its hash for ACSYNC_CONSOLE_USERS.

    ACSYNC_CONSOLE_USERS is name:role:hash items separated by ";", role operator (may replay, purge and
    reveal e-mails) or viewer (reads everything, e-mails masked). Only the hash is stored anywhere.
    """
    from werkzeug.security import generate_password_hash

    from console.settings import USER_NAME_RE

    if user is not None and not USER_NAME_RE.match(user):
        raise click.BadParameter("letters, digits and _ . @ - (1 to 64 characters)", param_hint="--user")
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    hashed = generate_password_hash(password)
    click.echo(f"{user}:{role}:{hashed}" if user else hashed)
