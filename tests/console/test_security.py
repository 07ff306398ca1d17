"""Login, sessions, CSRF and roles, through the Flask test client over https (as behind TLS)."""

from __future__ import annotations

import logging

from console.settings import ConsoleSettings, ConsoleUser, parse_users
from tests.console.conftest import PASSWORDS, SECRET_KEY, ConsoleClient, dead_letter, users_value
from workers.dlq import DeadLetterQueue


def test_every_page_needs_a_login(anonymous, redis_client):
    entry = dead_letter(redis_client)
    for path in ("/", "/dlq", f"/dlq/entry/{entry['entry_id']}", "/trail?q=x", "/audit", "/dlq/confirm?action=purge"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/static/console.css").status_code == 200


def test_login_sets_a_secure_httponly_lax_session_that_lasts_eight_hours(anonymous):
    response = anonymous.login("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("acsync_console=")
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = anonymous.get("/")
    assert page.status_code == 200 and 'id="whoami">alice' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
    assert anonymous.client.application.permanent_session_lifetime.total_seconds() == 8 * 3600


def test_insecure_cookies_drop_only_the_secure_flag(settings, redis_client):
    from console.app import create_app

    insecure = ConsoleSettings(
        secret_key=SECRET_KEY, users=parse_users(users_value(alice="operator")), secure_cookies=False
    )
    client = ConsoleClient(create_app(settings, insecure, redis_client=redis_client))
    cookie = client.login("alice").headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_failed_login_is_logged_without_the_password_and_limited(anonymous, caplog):
    with caplog.at_level(logging.INFO, logger="acsync.console"):
        for _ in range(5):
            response = anonymous.login("alice", "wrong-guess-value")
            assert response.status_code == 401 and "Wrong user name or password" in response.get_data(as_text=True)
        assert "login failed for user 'alice'" in caplog.text
        assert "wrong-guess-value" not in caplog.text
        # the sixth try is refused before any password check, even with the right password
        response = anonymous.login("alice")
        assert response.status_code == 429 and "Too many failed logins" in response.get_data(as_text=True)
    assert anonymous.get("/").status_code == 302
    assert PASSWORDS["alice"] not in caplog.text
    # another user name from the same address is not locked out
    assert anonymous.login("bob").status_code == 302


def test_an_unknown_user_fails_like_a_wrong_password(anonymous):
    response = anonymous.login("mallory", "whatever-password")
    assert response.status_code == 401 and "Wrong user name or password" in response.get_data(as_text=True)


def test_login_redirects_only_within_the_console(anonymous):
    for target, expected in (("/dlq", "/dlq"), ("//evil.example/x", "/"), ("https://evil.example/", "/")):
        client = ConsoleClient(anonymous.client.application)
        response = client.post(f"/login?next={target}", {"username": "alice", "password": PASSWORDS["alice"]})
        assert response.headers["Location"] == expected


def test_a_post_without_the_csrf_token_is_refused(operator, redis_client):
    entry = dead_letter(redis_client)
    response = operator.post("/dlq/replay", {"entry_id": entry["entry_id"]}, token=None)
    assert response.status_code == 400 and "did not come from this console" in response.get_data(as_text=True)
    response = operator.post("/dlq/purge", {"entry_id": entry["entry_id"]}, token="forged-token")
    assert response.status_code == 400
    assert DeadLetterQueue(redis_client).get(entry["entry_id"])["status"] == "dead"  # nothing happened
    assert operator.post("/logout", token=None).status_code == 400  # logout is a form too
    assert operator.get("/").status_code == 200


def test_a_viewer_reads_but_cannot_act(viewer, redis_client):
    entry = dead_letter(redis_client)
    page = viewer.get(f"/dlq/entry/{entry['entry_id']}").get_data(as_text=True)
    assert 'id="entry-status">dead' in page
    assert 'id="replay"' not in page and 'id="purge"' not in page and 'id="reveal"' not in page
    assert "j***@example.com" in page and "joana.silva@example.com" not in page
    assert 'id="replay-matching"' not in viewer.get("/dlq").get_data(as_text=True)
    for path, data in (
        ("/dlq/replay", {"entry_id": entry["entry_id"]}),
        ("/dlq/purge", {"entry_id": entry["entry_id"]}),
        (f"/dlq/entry/{entry['entry_id']}/reveal", {}),
    ):
        assert viewer.post(path, data, token_from="/dlq").status_code == 403, path
    assert viewer.get(f"/dlq/confirm?action=replay&entry_id={entry['entry_id']}").status_code == 403
    assert DeadLetterQueue(redis_client).get(entry["entry_id"])["status"] == "dead"
    assert redis_client.llen("acsync.orders") == 0


def test_changing_a_users_password_ends_their_sessions(app, operator, console_settings):
    assert operator.get("/").status_code == 200
    alice = console_settings.users["alice"]
    console_settings.users["alice"] = ConsoleUser(
        name="alice",
        role=alice.role,  # type: ignore[index]
        password_hash=parse_users(users_value(bob="operator"))["bob"].password_hash,
    )
    assert operator.get("/").status_code == 302


def test_logout_ends_the_session(operator):
    assert operator.post("/logout", token_from="/").status_code == 302
    assert operator.get("/").status_code == 302
