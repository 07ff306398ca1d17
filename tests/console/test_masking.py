"""E-mails masked unless revealed, the stores file's secrets never shown."""

from __future__ import annotations

import logging

from console.masking import MASK, Masker, mask_email, secrets_of
from tests.console.conftest import SECRETS, secret_settings


def test_mask_email_keeps_the_first_letter_and_the_domain():
    assert mask_email("john@example.com") == "j***@example.com"
    assert mask_email("to: ana.maria+x@loja.com.br, bo@b.io") == "to: a***@loja.com.br, b***@b.io"
    assert mask_email("no address here") == "no address here"


def test_every_secret_of_the_stores_file_is_known():
    assert set(secrets_of(secret_settings("redis://127.0.0.1:9/0"))) >= set(SECRETS.values())


def test_values_are_masked_deeply_and_secrets_stay_hidden_when_e_mails_are_revealed():
    masker = Masker(SECRETS.values())
    event = {
        "payload": {
            "email": "joana@example.com",
            "Origin": {"Account": "mystore", "Key": "vtexappkey-x"},
            "notes": [f"token was {SECRETS['api_token']}", "call ana@example.com"],
            "app_token": "whatever",
            "count": 3,
            "empty_secret": "",
        }
    }
    shown = masker.value(event)
    assert shown["payload"]["email"] == "j***@example.com"
    assert shown["payload"]["Origin"] == {"Account": "mystore", "Key": MASK}  # VTEX's Key is the sender's app key
    assert shown["payload"]["notes"] == ["token was ***", "call a***@example.com"]
    assert shown["payload"]["app_token"] == MASK and shown["payload"]["count"] == 3
    revealed = masker.value(event, reveal=True)
    assert revealed["payload"]["email"] == "joana@example.com"
    assert revealed["payload"]["notes"] == ["token was ***", "call ana@example.com"]
    assert revealed["payload"]["Origin"]["Key"] == MASK
    assert event["payload"]["email"] == "joana@example.com"  # the original is not changed


def test_secret_looking_pairs_in_error_texts_are_masked_like_the_logs():
    masker = Masker([])
    assert (
        masker.text("401 from https://x/api?api_token=abc123 for bo@x.com")
        == "401 from https://x/api?api_token=*** for b***@x.com"
    )


def test_the_page_safety_net_masks_and_warns(caplog):
    masker = Masker([SECRETS["hook_secret"], "short"])
    with caplog.at_level(logging.WARNING, logger="acsync.console"):
        assert masker.page("<p>fine short page</p>", "/") == "<p>fine short page</p>"  # short values are not secrets
        assert not caplog.records
        assert masker.page(f"<p>{SECRETS['hook_secret']}</p>", "/x") == "<p>***</p>"
    assert "carried a secret" in caplog.text and SECRETS["hook_secret"] not in caplog.text
