"""gunicorn settings for the console: ``gunicorn -c python:console.gunicorn_conf 'console:create_app()'``.

A few people use it at once, but a page may wait on Redis (a large dead-letter queue) and a bulk replay
takes a while: threads keep one slow page from holding the others. Every value can be overridden from
the environment (acsync_core.settings.ENVIRONMENT, which also holds the logins and key that
``console.settings.console_settings`` validates).
"""

from __future__ import annotations

from acsync_core.settings import environment_settings

_settings = environment_settings()

bind = _settings.console_bind
workers = _settings.console_workers
worker_class = "gthread"
threads = _settings.console_threads
timeout = 120  # a bulk replay of thousands of dead letters is one request
graceful_timeout = 25
keepalive = 5
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# who asked for what: the console is used by a few people, and a replay or purge is audited apart
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = _settings.log_level.lower()
# the app is loaded once in the arbiter: a bad configuration stops gunicorn at once with the message,
# instead of every worker failing to boot in turn
preload_app = True
