"""Structured JSON logs with the event's context on every line, and PII scrubbing.

``log_context(event_id=..., store=..., task_id=...)`` binds fields to every log line emitted inside
it (contextvars, so it works per request, per task and per thread). E-mails and tokens are
masked before a line is written, whatever the caller put in the message.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("acsync_log_context", default={})  # noqa: B039

EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
SECRET_RE = re.compile(
    r"(?i)([\w-]*(?:token|secret|password|authorization|app[-_]?key)[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s\"',}]+)"
)


# What SECRET_RE needs to match at all: a cheap search first, since most lines have no secret in them.
SECRET_HINT_RE = re.compile(r"(?i)token|secret|password|authorization|app[-_]?key")


def scrub(text: str) -> str:
    """Mask e-mail addresses (keep the first letter and the domain) and secret-looking values."""
    if "@" in text:
        text = EMAIL_RE.sub(r"\1***@\2", text)
    if SECRET_HINT_RE.search(text):
        text = SECRET_RE.sub(r"\1***", text)
    return text


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Ingest logs every accepted hook, so this is on its hot path."""

    _second = -1
    _second_text = ""

    def _timestamp(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # strftime once a second, not once a line
            self._second, self._second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
            **_context.get(),
        }
        for key in ("event_id", "store", "task_id", "kind"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    # The JSON lines carry neither source file, thread nor pid: skip collecting them for every record
    # (the Logging HOWTO's "Optimization" switches); ingest logs every accepted hook. The process name
    # stays: Celery's own log formats print it.
    logging._srcfile = None  # no sys._getframe() walk per record
    logging.logThreads = False
    logging.logProcesses = False
    handler = logging.StreamHandler(sys.__stderr__ or sys.stderr)  # not a proxy some framework installed
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
