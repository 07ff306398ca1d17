"""Celery workers: the pipeline from a VTEX event to ActiveCampaign records.

``celery -A workers worker`` finds the Celery application as ``workers.app``.
"""

from workers.celery_app import app

__all__ = ["app"]
