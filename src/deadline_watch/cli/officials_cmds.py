"""`officials link MOBILE` (a working link to phone through) and `reviews list` (待审核)."""

from __future__ import annotations

import json

import click

from deadline_watch.core.context import AppContext


@click.group("officials")
def officials_group() -> None:
    """Officials' personal links."""


@officials_group.command("link")
@click.argument("mobile")
@click.option("--rotate", is_flag=True, help="Make a new link; the old one stops working.")
@click.pass_obj
def officials_link(app: AppContext, mobile: str, rotate: bool) -> None:
    """Print a working personal link for the official with MOBILE (its validity restarts now)."""
    from deadline_watch.core.db import transaction
    from deadline_watch.officials.links import fresh_link

    with transaction(app.checked_sessions()) as session:
        url = fresh_link(session, mobile, app.settings, now=app.now(), rotate=rotate)
    click.echo(url)


@click.group("reviews")
def reviews_group() -> None:
    """Officials' requests waiting for a supervisor (待审核)."""


@reviews_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.pass_obj
def reviews_list(app: AppContext, as_json: bool) -> None:
    """Pending completion and extension requests, oldest first."""
    from deadline_watch.board.reviews import KIND_ZH, pending_reviews
    from deadline_watch.core.db import transaction

    with transaction(app.checked_sessions()) as session:
        rows = pending_reviews(session)
    for row in rows:
        if as_json:
            click.echo(json.dumps({
                "request_id": row.request_id, "kind": row.kind, "created_at": row.created_at.isoformat(),
                "project_code": row.project_code, "milestone": row.milestone, "due_date": row.due_date.isoformat(),
                "official": row.official,
                "reported_completed_on": row.reported_completed_on.isoformat() if row.reported_completed_on else None,
                "proposed_due_date": row.proposed_due_date.isoformat() if row.proposed_due_date else None,
                "files": row.files,
            }, ensure_ascii=False))
        else:
            what = (f"完成于 {row.reported_completed_on}" if row.kind == "completion"
                    else f"延期至 {row.proposed_due_date}")
            click.echo(f"#{row.request_id}\t{row.created_at.astimezone(app.settings.tz):%Y-%m-%d %H:%M}\t"
                       f"{KIND_ZH[row.kind]}\t{row.project_code}\t{row.milestone}\t截止 {row.due_date}\t"
                       f"{what}\t{row.official}\t佐证 {row.files} 份")
    if not rows and not as_json:
        click.echo("没有待审核的申报 / nothing waiting for review")


def register(cli: click.Group) -> None:
    cli.add_command(officials_group)
    cli.add_command(reviews_group)
