"""The ingest service: VTEX hooks in, Celery tasks out. Serve with gunicorn 'ingest:create_app()'."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """The Flask application factory (``ingest.app.create_app``).

    Imported lazily so that gunicorn's master, which loads ``ingest.gunicorn_conf`` from this package,
    does not create prometheus-client's multiprocess files before its ``on_starting`` hook has set up
    their directory.
    """
    from ingest.app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["create_app"]
