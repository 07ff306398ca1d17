"""What the console may show: e-mails masked (unless an operator reveals them), secrets never.

Two layers. ``Masker.value`` prepares every piece of data a page shows: values under secret-looking keys
(``token``, ``secret``, ``password``, ``app_key``, VTEX's ``Key`` ...) become ``***``, the stores file's
secrets (hook secrets, ActiveCampaign tokens, VTEX app keys and tokens) are cut out of any string they
appear in, secret-looking ``name=value`` pairs in error texts are masked like the logs do, and e-mail
addresses become ``j***@example.com``. ``Masker.page`` is the safety net on every response: should a
page still carry one of the stores file's secrets, it is replaced and a warning is logged (tests assert
it never fires).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from acsync_core.logs import EMAIL_RE, SECRET_HINT_RE, SECRET_RE
from acsync_core.settings import Settings

log = logging.getLogger("acsync.console")

MASK = "***"
# dict keys whose values are never shown (the hook body's Origin.Key is the sender's VTEX app key)
SECRET_KEY_RE = re.compile(r"(?i)^(key|.*(token|secret|password|passwd|authorization|app[-_]?key|api[-_]?key).*)$")
MIN_SECRET_LENGTH = 8  # shorter values cannot be told apart from ordinary text


def mask_email(text: str) -> str:
    """``john@example.com`` -> ``j***@example.com`` (the logs' masking), anywhere in ``text``."""
    return EMAIL_RE.sub(r"\1***@\2", text) if "@" in text else text


def secrets_of(settings: Settings) -> list[str]:
    """Every secret in the stores file: hook secrets, ActiveCampaign tokens, VTEX app keys and tokens."""
    values: set[str] = set()
    for store in settings.stores.values():
        values.update((store.hook_secret, store.activecampaign.api_token, store.vtex.app_key, store.vtex.app_token))
    return sorted((v for v in values if v), key=len, reverse=True)


class Masker:
    def __init__(self, secrets: Iterable[str]) -> None:
        values = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]
        self._secrets = sorted(set(values), key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None

    @classmethod
    def for_settings(cls, settings: Settings) -> Masker:
        return cls(secrets_of(settings))

    def text(self, text: str, *, reveal: bool = False) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        if SECRET_HINT_RE.search(text):
            text = SECRET_RE.sub(r"\1" + MASK, text)
        return text if reveal else mask_email(text)

    def value(self, value: Any, *, reveal: bool = False) -> Any:
        """A copy of ``value`` (JSON-like) fit to show; ``reveal`` keeps e-mails (operators, audited)."""
        if isinstance(value, str):
            return self.text(value, reveal=reveal)
        if isinstance(value, dict):
            return {
                k: MASK
                if isinstance(k, str) and SECRET_KEY_RE.match(k) and v not in (None, "")
                else self.value(v, reveal=reveal)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v, reveal=reveal) for v in value]
        return value

    def page(self, body: str, where: str) -> str:
        """The last line of defence on a whole response body."""
        if self._pattern is None or not self._pattern.search(body):
            return body
        log.warning("a console page carried a secret from the stores file; it was masked (%s)", where)
        return self._pattern.sub(MASK, body)
