"""The operations console: ``gunicorn -c python:console.gunicorn_conf 'console:create_app()'``.

Pages: the overview (per store and per ActiveCampaign account, the last hour), the dead-letter queue
(filter, open, replay, purge), an event's trail and the audit log. ``console.app`` builds the Flask
app; the logic it shows lives in plain modules (``figures``, ``dlqview``, ``masking``, ``svg``,
``audit``) that need no Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """``console.app.create_app``, imported on first use (``acsync`` loads console.settings without Flask)."""
    from console.app import create_app as factory

    return factory(*args, **kwargs)
