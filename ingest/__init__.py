"""The ingest service: VTEX hooks in, Celery tasks out. Serve with gunicorn 'ingest:create_app()'."""

from ingest.app import create_app

__all__ = ["create_app"]
