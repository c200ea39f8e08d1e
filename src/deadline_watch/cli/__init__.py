"""Command line: argument parsing and exit codes only; each command calls a function elsewhere.

Every user-facing error (`DeadlineWatchError`) is caught here once and printed as one
line on stderr with its exit code; nothing reaches the user as a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deadline_watch.cli import (
    board_cmds,
    clock_cmds,
    db_cmds,
    officials_cmds,
    persons_cmds,
    registry_cmds,
    report_cmds,
    sms_cmds,
    user_cmds,
    watch_cmds,
)
from deadline_watch.core.config import load_settings
from deadline_watch.core.context import AppContext
from deadline_watch.core.db import DATABASE_FAULTS, database_error
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import configure_logging, get_logger

COMMAND_MODULES = [db_cmds, registry_cmds, persons_cmds, watch_cmds, clock_cmds, sms_cmds, report_cmds, board_cmds,
                   user_cmds, officials_cmds]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (default: ./deadline-watch.toml or ./config/deadline-watch.toml).",
)
@click.option("--db", "db_url", help="Database URL; overrides [database] url and DEADLINE_WATCH_DB_URL.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, db_url: str | None) -> None:
    """deadline-watch: milestone reminders and overdue escalation for key projects."""
    settings = load_settings(config_path)
    if db_url:
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": db_url})}
        )
    configure_logging(settings.logging.level, settings.logging.format)
    get_logger().debug("config.loaded", source=settings.source)
    ctx.obj = AppContext(settings=settings)


def _register_commands() -> None:
    for module in COMMAND_MODULES:
        module.register(cli)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: runs the group and maps user errors to exit codes."""
    try:
        # With standalone_mode=False click returns ctx.exit()'s code instead of exiting.
        returned = cli.main(args=argv, prog_name="deadline-watch", standalone_mode=False)
    except DeadlineWatchError as err:
        click.echo(f"错误 error: {err.message}", err=True)
        return err.exit_code
    except DATABASE_FAULTS as exc:
        # read-only, disk full, file gone, server unreachable: one line, exit 3, no traceback
        err = database_error(exc)
        click.echo(f"错误 error: {err.message}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("已取消 / aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except KeyboardInterrupt:
        click.echo("已中断 / interrupted", err=True)
        return 130
    return returned if isinstance(returned, int) else 0


def run() -> None:
    sys.exit(main())
