"""What the console's views share: settings, the Redis client and the objects built on it."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app

from acsync_core.publish import TaskPublisher
from acsync_core.settings import Settings
from console.audit import AuditLog
from console.masking import Masker
from console.settings import ConsoleSettings
from workers.dlq import DeadLetterQueue


@dataclass
class ConsoleContext:
    settings: Settings
    console: ConsoleSettings
    redis: redis.Redis
    dlq: DeadLetterQueue
    publisher: TaskPublisher
    audit: AuditLog
    masker: Masker


def console_context() -> ConsoleContext:
    context: ConsoleContext = current_app.extensions["acsync_console"]  # set by console.app.create_app
    return context
