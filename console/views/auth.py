"""Login, logout and roles: Flask-Login sessions, werkzeug password hashes, a Redis failed-login limit.

A session names the user and a fingerprint of their role and password hash, so changing either in
``ACSYNC_CONSOLE_USERS`` (or removing the user) ends their sessions at the next request. A failed login
is logged with the user name and client address (never the password) and counted per user name and
address; past ``max_failed_logins`` within the window that pair is refused without a password check.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from console.context import console_context
from console.settings import ConsoleUser

bp = Blueprint("auth", __name__)
log = logging.getLogger("acsync.console.auth")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see this page."
login_manager.session_protection = "basic"

FAILURES_PREFIX = "acsync:console:login-failures:"
MAX_PASSWORD_LENGTH = 1024

P = ParamSpec("P")
R = TypeVar("R")


class LoginUser(UserMixin):
    def __init__(self, user: ConsoleUser) -> None:
        self.user = user

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def is_operator(self) -> bool:
        return self.user.is_operator

    def get_id(self) -> str:
        return f"{self.user.name}|{fingerprint(self.user)}"


def fingerprint(user: ConsoleUser) -> str:
    return hashlib.sha256(f"{user.role}|{user.password_hash}".encode()).hexdigest()[:24]


@login_manager.user_loader
def load_user(user_id: str) -> LoginUser | None:
    name, _, mark = user_id.partition("|")
    user = console_context().console.users.get(name)
    if user is None or not hmac.compare_digest(mark, fingerprint(user)):
        return None
    return LoginUser(user)


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown user names, so that they cost the same time as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def client_address() -> str:
    return request.remote_addr or "unknown"


def operator_required(view: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not getattr(current_user, "is_operator", False):
            log.warning(
                "console: %s (%s) was refused %s %s",
                getattr(current_user, "name", "?"),
                getattr(current_user, "role", "?"),
                request.method,
                request.path,
            )
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _failures_key(username: str, address: str) -> str:
    return FAILURES_PREFIX + hashlib.sha256(f"{username.lower()}|{address}".encode()).hexdigest()[:32]


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no //evil.example)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("overview.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("overview.index"))
        return render_template("login.html", error=None, username="")
    ctx = console_context()
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:MAX_PASSWORD_LENGTH]
    address = client_address()
    key = _failures_key(username, address)
    limit, window = ctx.console.max_failed_logins, ctx.console.failed_login_window_seconds
    failures = int(ctx.redis.get(key) or 0)  # Redis down: the app's 503 page, never an unlimited login
    if failures >= limit:
        log.warning(
            "console login refused for user %r from %s: %d failed attempts in %d minutes",
            username,
            address,
            failures,
            window // 60,
        )
        return render_template(
            "login.html", username=username, error=f"Too many failed logins. Try again in {window // 60} minutes."
        ), 429
    user = ctx.console.users.get(username)
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not valid:
        pipe = ctx.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window)
        pipe.execute()
        log.warning("console login failed for user %r from %s", username, address)
        return render_template("login.html", username=username, error="Wrong user name or password."), 401
    ctx.redis.delete(key)
    target = _safe_next(request.args.get("next"))
    session.clear()  # a new session for the login: nothing from before it is kept (session fixation)
    login_user(LoginUser(user))
    session.permanent = True  # PERMANENT_SESSION_LIFETIME: ACSYNC_CONSOLE_SESSION_HOURS
    log.info("console login: %s (%s) from %s", user.name, user.role, address)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    name = getattr(current_user, "name", None)
    logout_user()
    session.clear()
    if name:
        log.info("console logout: %s", name)
    return redirect(url_for("auth.login"))
