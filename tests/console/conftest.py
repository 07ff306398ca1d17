"""The console on a real private Redis, with a stores file whose secrets are distinctive strings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from acsync_core.events import Event
from acsync_core.settings import Settings
from console.app import create_app
from console.settings import ConsoleSettings, parse_users
from tests.factories import make_settings, store_table
from workers.dlq import DeadLetterQueue

# every secret of the stores file: none may ever appear in a page
SECRETS = {
    "hook_secret": "HOOKSECRET-q8Zt3vLw9xKp2m",
    "api_token": "ACTOKEN-7Hc2Vn9QbW4yRt6u",
    "app_key": "VTEXAPPKEY-mystore-X3K9QZ",
    "app_token": "VTEXAPPTOKEN-Lq2Wm8Zr5Nb7Yc",
    "other_hook_secret": "HOOKSECRET-other-Pp4Rr8Tt2",
    "other_api_token": "ACTOKEN-other-Jj5Kk6Ll7Mm",
    "other_app_key": "VTEXAPPKEY-other-V1W2X3",
    "other_app_token": "VTEXAPPTOKEN-other-Ff9Gg8Hh",
}
SECRET_KEY = "console-test-secret-key-0123456789abcdef"
PASSWORDS = {"alice": "alice-password-123", "bob": "bob-password-4567"}
FAST_HASH = "pbkdf2:sha256:1000"  # werkzeug's format, cheap enough for tests
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
BASE_URL = "https://console.test"


def secret_settings(redis_url: str) -> Settings:
    mystore = store_table(
        "mystore",
        hook_secret=SECRETS["hook_secret"],
        activecampaign={
            "api_url": "https://acme.api-us1.com/",
            "api_token": SECRETS["api_token"],
            "connection_id": 1,
            "requests_per_second": 4,
        },
        vtex={"app_key": SECRETS["app_key"], "app_token": SECRETS["app_token"], "api_url": "http://127.0.0.1:9/"},
    )
    other = store_table(
        "otherstore",
        hook_secret=SECRETS["other_hook_secret"],
        activecampaign={
            "api_url": "https://other.api-us1.com/",
            "api_token": SECRETS["other_api_token"],
            "connection_id": 2,
            "requests_per_second": 2.5,
        },
        vtex={
            "app_key": SECRETS["other_app_key"],
            "app_token": SECRETS["other_app_token"],
            "api_url": "http://127.0.0.1:9/",
        },
    )
    return make_settings(redis_url, mystore=mystore, otherstore=other)


def users_value(**roles: str) -> str:
    return ";".join(
        f"{name}:{role}:{generate_password_hash(PASSWORDS[name], method=FAST_HASH)}" for name, role in roles.items()
    )


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return secret_settings(redis_url)


@pytest.fixture
def console_settings() -> ConsoleSettings:
    return ConsoleSettings(secret_key=SECRET_KEY, users=parse_users(users_value(alice="operator", bob="viewer")))


@pytest.fixture
def app(settings: Settings, console_settings: ConsoleSettings, redis_url: str) -> Iterator[Flask]:
    client = redis.Redis.from_url(redis_url)
    yield create_app(settings, console_settings, redis_client=client)
    client.close()


class ConsoleClient:
    """A Flask test client over https that logs in and posts forms as a browser does (token and Referer)."""

    def __init__(self, app: Flask) -> None:
        self.client: FlaskClient = app.test_client()

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, base_url=BASE_URL, **kwargs)

    def token(self, path: str = "/login") -> str:
        match = CSRF_RE.search(self.get(path).get_data(as_text=True))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = "page",  # noqa: S107 - "page": take the form's CSRF token from token_from
        token_from: str = "/login",  # noqa: S107 - a path
        **kwargs: Any,
    ) -> TestResponse:
        form = dict(data or {})
        if token == "page":
            form["csrf_token"] = self.token(token_from)
        elif token is not None:
            form["csrf_token"] = token
        return self.client.post(
            path, data=form, base_url=BASE_URL, headers={"Referer": BASE_URL + token_from}, **kwargs
        )

    def login(self, name: str, password: str | None = None) -> TestResponse:
        return self.post("/login", {"username": name, "password": PASSWORDS[name] if password is None else password})


@pytest.fixture
def anonymous(app: Flask) -> ConsoleClient:
    return ConsoleClient(app)


@pytest.fixture
def operator(app: Flask) -> ConsoleClient:
    client = ConsoleClient(app)
    assert client.login("alice").status_code == 302
    return client


@pytest.fixture
def viewer(app: Flask) -> ConsoleClient:
    client = ConsoleClient(app)
    assert client.login("bob").status_code == 302
    return client


def dead_letter(
    client: redis.Redis,
    *,
    store: str = "mystore",
    kind: str = "order",
    reason: str = "order_not_found",
    order_id: str = "v1001-01",
    email: str = "joana.silva@example.com",
    error: str = "NotFoundError: VTEX has no order v1001-01",
) -> dict[str, Any]:
    """A dead entry made through the DLQ's own API (what a worker does on a permanent failure)."""
    payload: dict[str, Any]
    if kind == "order":
        payload = {
            "OrderId": order_id,
            "State": "payment-approved",
            "LastChange": "2026-11-27T13:30:00Z",
            "Origin": {"Account": store, "Key": SECRETS["app_key"]},
            "email": email,
        }
    else:
        payload = {"email": email, "rclastcart": "add?sku=1&qty=1&seller=1", "firstName": "Joana"}
    event = Event(kind=kind, store=store, payload=payload, dedupe_key=f"{store}|{order_id}|{kind}")
    queue = DeadLetterQueue(client)
    queue.record_attempt(event.event_id, 0, error, retryable=False)
    return queue.add(event, reason=reason, error=error)
