"""`db upgrade`, `db current` and `version`."""

from __future__ import annotations

import click

from deadline_watch import __version__
from deadline_watch.core import db
from deadline_watch.core.context import AppContext
from deadline_watch.core.logs import get_logger


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade to the newest migration, show the current one."""


@db_group.command("upgrade")
@click.pass_obj
def upgrade(app: AppContext) -> None:
    """Create or migrate the schema to the newest revision."""
    before = db.current_revision(app.engine)
    db.upgrade(app.engine)
    after = db.current_revision(app.engine)
    get_logger().info("db.upgraded", before=before, after=after)
    click.echo(f"schema at {after} (was {before or 'empty'})")


@db_group.command("current")
@click.pass_obj
def current(app: AppContext) -> None:
    """Print the schema revision and whether it is the newest."""
    revision = db.current_revision(app.engine)
    head = db.head_revision(app.engine)
    status = "head" if revision == head else f"behind, head is {head}"
    click.echo(f"{revision or 'empty'} ({status})")


@click.command("version")
def version() -> None:
    """Print the deadline-watch version."""
    click.echo(__version__)


def register(group: click.Group) -> None:
    group.add_command(db_group)
    group.add_command(version)
