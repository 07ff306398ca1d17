"""The console's application factory: ``create_app()`` loads the one settings object, tests pass settings.

    gunicorn -c python:console.gunicorn_conf 'console:create_app()'

Every page needs a login (Flask-Login, a signed session cookie: Secure, HttpOnly, SameSite=Lax unless
``ACSYNC_CONSOLE_INSECURE_COOKIES=1``); every POST carries a CSRF token (Flask-WTF's CSRFProtect,
400 without it); pages are server-rendered with no JavaScript, under a strict Content-Security-Policy.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from flask import Flask, Response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from acsync_core import redis_connection
from acsync_core.logs import configure_logging
from acsync_core.publish import TaskPublisher
from acsync_core.settings import Settings, load_settings
from console.audit import AuditLog
from console.context import ConsoleContext
from console.masking import Masker
from console.settings import ConsoleSettings
from console.settings import console_settings as console_settings_for
from console.views import audit, auth, dlq, overview, trail
from workers.dlq import DeadLetterQueue

log = logging.getLogger("acsync.console")
HERE = Path(__file__).resolve().parent
PUBLIC_ENDPOINTS = ("auth.login", "static", "healthz", "favicon")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def create_app(
    settings: Settings | None = None,
    console_settings: ConsoleSettings | None = None,
    *,
    redis_client: redis.Redis | None = None,
) -> Flask:
    """The console's Flask app.

    ``settings`` default to :func:`load_settings` (the one read of the environment and the stores file,
    with logging configured for gunicorn); ``console_settings`` to the console's part of ``settings``
    (:func:`console.settings.console_settings`, which raises when the key or the users are missing);
    ``redis_client`` to a connection to ``settings.redis_url``.
    """
    if settings is None:
        settings = load_settings()
        configure_logging(settings.log_level)
        logging.logProcesses = True  # configure_logging turns pids off; gunicorn's own lines print them
    if console_settings is None:
        console_settings = console_settings_for(settings)
    app = Flask("console", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    _configure_cookies(app, console_settings)
    _trust_proxies(app, console_settings.proxy_hops)
    context = _context(settings, console_settings, redis_client)
    app.extensions["acsync_console"] = context
    _install_protections(app)
    _register_pages(app)
    _require_login(app)
    _harden_responses(app, context.masker)
    _register_error_handlers(app)
    return app


def _configure_cookies(app: Flask, console: ConsoleSettings) -> None:
    """The session: a signed cookie (Secure unless asked otherwise, HttpOnly, SameSite=Lax) that lasts
    ``session_hours`` from login, and CSRF tokens that live as long."""
    lifetime = timedelta(hours=console.session_hours)
    app.config.update(
        SECRET_KEY=console.secret_key,
        SESSION_COOKIE_NAME="acsync_console",
        SESSION_COOKIE_SECURE=console.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=lifetime,
        SESSION_REFRESH_EACH_REQUEST=False,  # a login lasts its lifetime, activity does not extend it
        REMEMBER_COOKIE_SECURE=console.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()),  # a token lives as long as its session
        WTF_CSRF_SSL_STRICT=console.secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if not console.secure_cookies:
        log.warning(
            "console cookies are not Secure (ACSYNC_CONSOLE_INSECURE_COOKIES=1): plain http on this machine only"
        )


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies, take the client's address, scheme and host from their headers."""
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def _context(settings: Settings, console: ConsoleSettings, redis_client: redis.Redis | None) -> ConsoleContext:
    """What the views share (``console.context``): settings, Redis and the objects built on it."""
    client = redis_client or redis_connection.connect(settings.redis_url, socket_connect_timeout=2, socket_timeout=10)
    return ConsoleContext(
        settings=settings,
        console=console,
        redis=client,
        dlq=DeadLetterQueue(client),
        publisher=TaskPublisher(client),
        audit=AuditLog(client),
        masker=Masker.for_settings(settings),
    )


def _install_protections(app: Flask) -> None:
    """CSRF tokens on every POST (400 without one) and Flask-Login's sessions."""
    CSRFProtect(app)
    auth.login_manager.init_app(app)


def _register_pages(app: Flask) -> None:
    """The views' blueprints, the templates' filters, and the two routes that need no login."""
    for blueprint in (auth.bp, overview.bp, dlq.bp, trail.bp, audit.bp):
        app.register_blueprint(blueprint)
    _filters(app)

    @app.route("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.route("/favicon.ico")
    def favicon() -> tuple[str, int]:
        return "", 204  # browsers ask for it on every page; there is none


def _require_login(app: Flask) -> None:
    """Every endpoint but :data:`PUBLIC_ENDPOINTS` sends an anonymous visitor to the login page."""

    @app.before_request
    def require_login() -> Any:
        if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
            return auth.login_manager.unauthorized()
        return None


def _harden_responses(app: Flask, masker: Masker) -> None:
    """Every response: the strict CSP and its companion headers, no caching but of static files, and
    pages and JSON passed through ``masker`` (no secret of the stores file ever leaves)."""

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if response.mimetype in ("text/html", "application/json") and not response.direct_passthrough:
            body = response.get_data(as_text=True)
            safe = masker.page(body, request.path)
            if safe is not body:
                response.set_data(safe)
        return response


def _register_error_handlers(app: Flask) -> None:
    """Errors as the console's error page: a CSRF failure 400, Redis down 503, HTTP errors their own
    code, anything else 500 with the traceback in the log only."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        log.warning("console: %s %s refused: %s", request.method, request.path, exc.description)
        return render_template(
            "error.html",
            code=400,
            title="Bad request",
            message="The form expired or did not come from this console. Go back, reload the page and try again.",
        ), 400

    @app.errorhandler(redis.RedisError)
    def redis_error(exc: redis.RedisError) -> tuple[str, int]:
        log.warning("console: Redis failed on %s %s: %s", request.method, request.path, exc.__class__.__name__)
        return render_template(
            "error.html",
            code=503,
            title="Redis is unreachable",
            message=f"The console could not read Redis ({exc.__class__.__name__}). Nothing was "
            "changed. Try again in a moment.",
        ), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        return render_template("error.html", code=code, title=exc.name, message=exc.description), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        log.exception("unhandled error in the console on %s %s", request.method, request.path)
        return render_template(
            "error.html", code=500, title="Something went wrong", message="The error is in the console's log."
        ), 500


def _filters(app: Flask) -> None:
    from console.svg import sparkline

    app.jinja_env.globals["sparkline"] = sparkline

    @app.template_filter("ts")
    def ts(value: float | None) -> str:
        if value is None:
            return "never"
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    @app.template_filter("ago")
    def ago(value: float | None) -> str:
        if value is None:
            return "never"
        return seconds(max(0.0, time.time() - float(value))) + " ago"

    @app.template_filter("seconds")
    def seconds(value: float | None) -> str:
        if value is None:
            return "-"
        value = float(value)
        if value < 10:
            return f"{value:.2f} s"
        if value < 120:
            return f"{value:.0f} s"
        if value < 7200:
            return f"{value / 60:.0f} min"
        return f"{value / 3600:.1f} h"

    @app.template_filter("num")
    def num(value: float | int) -> str:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
