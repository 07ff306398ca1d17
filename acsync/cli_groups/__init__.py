"""The operator command groups of ``acsync`` (registered by acsync/cli.py), one module each:
connections, hooks, dlq, stats, backfill, spool.

The modules hold only the click wiring (options, calling a plain function, printing, exit codes); the
logic lives with its concern: ``workers.dlq_ops``, ``workers.status``, ``workers.backfill``,
``workers.hookconfig``, ``ingest.spool``.

Every command reads the stores file (ACSYNC_STORES) and REDIS_URL like the services do. Exit codes:
0 success, 1 the operation failed (or found a problem, for ``hooks status``), 2 bad usage or config.
"""
