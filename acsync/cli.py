"""``acsync``: one command for the project's servers and operator tasks."""

from __future__ import annotations

import click

from acsync.cli_groups.backfill import backfill
from acsync.cli_groups.connections import connections
from acsync.cli_groups.dlq import dlq
from acsync.cli_groups.hooks import hooks
from acsync.cli_groups.spool import spool
from acsync.cli_groups.stats import stats_command
from acsync.console_cmd import console
from acsync.localrun import run
from acsync.sandboxes import sandbox
from acsync.writer import writer


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Keep ActiveCampaign in sync with VTEX stores."""


main.add_command(sandbox)
main.add_command(run)
main.add_command(writer)
for command in (connections, hooks, dlq, stats_command, backfill, spool, console):
    main.add_command(command)
