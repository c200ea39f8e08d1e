"""`watch rewind` (undo a clock jump that was acted on) and `watch confirm-clock` (accept a
jump the daemon is holding for)."""

from __future__ import annotations

import json

import click

from deadline_watch.core import db
from deadline_watch.core.clock import parse_instant
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import ConfigError


@click.group("watch")
def watch_group() -> None:
    """The watch's clock: rewind a wrong jump, confirm a real one."""


@watch_group.command("rewind")
@click.option("--to", "to_text", required=True, metavar="ISO8601",
              help="The instant to go back to (e.g. the last scan before the wrong `tick --now`).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_obj
def rewind_command(app: AppContext, to_text: str, as_json: bool) -> None:
    """Withdraw board items opened after --to (no SMS), cancel their pending SMS, re-arm
    reminders cancelled after it and set the last scan back to it."""
    from deadline_watch.watch.rewind import rewind

    try:
        to = parse_instant(to_text, app.settings.tz)
    except ValueError:
        raise ConfigError(f"--to 不是 ISO 8601 时间: {to_text}", f"--to is not an ISO 8601 instant: {to_text}") from None
    sessions = app.checked_sessions()
    with db.transaction(sessions) as session:
        result = rewind(session, to, now=app.now(), actor="cli")
    if as_json:
        click.echo(json.dumps(result.as_dict() | {"to": to.isoformat()}, ensure_ascii=False))
        return
    click.echo(
        f"回拨至 rewound to {to.isoformat()}: 撤回督办 withdrawn {result.escalations_withdrawn}, "
        f"降级 lowered {result.escalations_lowered}, 取消短信 cancelled {result.notifications_cancelled}, "
        f"重新布置提醒 re-armed {result.reminders_rearmed}; 已发出无法撤回 already sent {result.sent_after}"
    )


@watch_group.command("confirm-clock")
@click.pass_obj
def confirm_clock_command(app: AppContext) -> None:
    """Accept the clocks as they are: a daemon holding after a clock jump acts again."""
    from deadline_watch.domain.watch_clock import confirm_clock

    sessions = app.checked_sessions()
    now = app.now()
    with db.transaction(sessions) as session:
        number = confirm_clock(session, now=now, actor="cli")
    click.echo(f"已确认时钟 clock confirmed at {now.isoformat()} (#{number})")


def register(group: click.Group) -> None:
    group.add_command(watch_group)
