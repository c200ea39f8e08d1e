"""`tick`, `run`, `escalations list`, `milestones complete|reopen`, `outbox list` and `demo`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from deadline_watch.core import db
from deadline_watch.core.clock import local_date, parse_day, parse_instant
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import ConfigError
from deadline_watch.core.logs import mask_mobile


def _now(app: AppContext, now_text: str | None):
    if not now_text:
        return app.now()
    try:
        return parse_instant(now_text, app.settings.tz)
    except ValueError:
        raise ConfigError(
            f"--now 不是 2000-2100 年间的 ISO 8601 时间: {now_text[:40]}",
            f"--now is not an ISO 8601 instant within 2000-2100: {now_text[:40]}",
        ) from None


def _backend(app: AppContext, *, stream=None):
    from deadline_watch.sms.factory import make_backend

    return make_backend(app.settings, stream=stream)


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.command("tick")
@click.option("--now", "now_text", metavar="ISO8601", help="Run as of this instant (default: the clock).")
@click.option("--dry-run", is_flag=True, help="Print what would be enqueued, escalated and sent; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts.")
@click.option("--force", is_flag=True,
              help="Scan even when --now is earlier than the last scan (never sends an SMS contradicting one sent).")
@click.pass_obj
def tick_command(app: AppContext, now_text: str | None, dry_run: bool, as_json: bool, force: bool) -> None:
    """One scan (reminders, escalations, cancellations) then one delivery pass.

    A --now earlier than the last recorded scan plans and sends nothing (exit 2) unless --force."""
    from deadline_watch.daemon.tick import run_tick

    sessions = app.checked_sessions()
    now = _now(app, now_text)
    # with --json stdout carries only the JSON object: the console backend prints to stderr
    backend = None if dry_run else _backend(app, stream=sys.stderr if as_json else None)
    result = run_tick(
        sessions, app.settings, now=now, backend=backend, dry_run=dry_run, force=force,
        engine=app.engine, wait_seconds=app.settings.scheduler.lease_wait_seconds,
    )
    if as_json:
        values = result.as_dict()
        values["now"] = now.isoformat()
        if dry_run:
            values["would_enqueue"] = [
                {
                    "dedup_key": intent.dedup_key,
                    "rule": intent.rule,
                    "to": mask_mobile(intent.recipient.mobile or ""),
                    "send_at": intent.send_at.isoformat(),
                }
                for intent in result.scan.new_intents
            ]
            values["escalation_events"] = [event.as_dict() for event in result.scan.escalation_events]
        _echo_json(values)
        return
    counts = result.scan
    prefix = "[dry run] " if dry_run else ""
    if dry_run:
        for event in counts.escalation_events:
            click.echo(
                f"{prefix}督办 {event.action}: {event.project_code} {event.milestone} "
                f"(截止 {event.due_date.isoformat()}, 级别 {event.level}{', ' + event.resolution if event.resolution else ''})"
            )
        for intent in counts.new_intents:
            click.echo(
                f"{prefix}短信 {intent.rule}: {mask_mobile(intent.recipient.mobile or '')} "
                f"{intent.dedup_key} 发送时间 send at {intent.send_at.isoformat()}"
            )
    click.echo(
        f"{prefix}{now.isoformat()}: 提醒 reminders +{counts.reminders_enqueued}, "
        f"督办 escalations opened {counts.escalations_opened} raised {counts.escalations_raised} "
        f"resolved {counts.escalations_resolved}"
        + (f" reopened {counts.escalations_reopened}" if counts.escalations_reopened else "")
        + f", 取消 cancelled {counts.notifications_cancelled}; "
        + (f"would send {result.due_now}" if dry_run else f"发送 sent {result.sent} failed {result.failed} deferred {result.deferred}")
    )


@click.command("run")
@click.pass_obj
def run_command(app: AppContext) -> None:
    """The daemon: scan, deliver, weekly and monthly reports, until SIGTERM/SIGINT."""
    from deadline_watch.daemon.schedule import run_daemon

    run_daemon(app, _backend(app))


@click.group("escalations")
def escalations_group() -> None:
    """The supervision board's escalation queue."""


@escalations_group.command("list")
@click.option("--state", type=click.Choice(["open", "acknowledged", "resolved", "all"]), default=None,
              help="Default: open and acknowledged.")
@click.option("--unit", help="Responsible unit (责任单位), exact name.")
@click.option("--co-unit", help="协办单位: items of the projects this unit assists, exact name.")
@click.option("--level", type=int, help="Escalation level.")
@click.option("--limit", type=int, default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def escalations_list(app: AppContext, state: str | None, unit: str | None, co_unit: str | None, level: int | None,
                     limit: int, as_json: bool) -> None:
    """Escalations, most overdue first."""
    from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations

    sessions = app.checked_sessions()
    today = local_date(app.now(), app.settings.tz)
    with db.transaction(sessions) as session:
        rows, total = list_escalations(
            session, EscalationFilter(state=state, unit=unit, level=level, co_unit=co_unit), today=today,
            tz=app.settings.tz, limit=limit
        )
    if as_json:
        _echo_json([row.as_dict() | {"owner_mobile": mask_mobile(row.owner_mobile or "") or None} for row in rows])
        return
    from deadline_watch.cli.printing import print_escalations

    print_escalations(rows, total)


@click.group("milestones")
def milestones_group() -> None:
    """Milestone changes from the command line."""


@milestones_group.command("complete")
@click.argument("project_code")
@click.argument("milestone")
@click.option("--on", "on_text", metavar="YYYY-MM-DD", help="Completion date (default: today).")
@click.option("--evidence", help="Evidence text or URL (佐证资料).")
@click.pass_obj
def milestones_complete(app: AppContext, project_code: str, milestone: str, on_text: str | None, evidence: str | None) -> None:
    """Mark a milestone completed: cancels its pending SMS and resolves its escalation."""
    from deadline_watch.board.completion import complete_milestone

    sessions = app.checked_sessions()
    now = app.now()
    try:
        on = parse_day(on_text) if on_text else local_date(now, app.settings.tz)
    except ValueError:
        raise ConfigError(f"--on 不是 2000-2100 年间的日期 (YYYY-MM-DD): {on_text}",
                          f"--on is not a date (YYYY-MM-DD) within 2000-2100: {on_text}") from None
    with db.transaction(sessions) as session:
        result = complete_milestone(
            session, project_code, milestone, on=on, evidence=evidence, now=now, actor="cli"
        )
    click.echo(
        f"{project_code} {milestone}: 已完成 completed on {result.completed_on.isoformat()}"
        + (" (逾期完成 late)" if result.late else "")
        + f"; 取消短信 cancelled {result.notifications_cancelled}, 督办结案 resolved {result.escalations_resolved}"
    )


@milestones_group.command("reopen")
@click.argument("project_code")
@click.argument("milestone")
@click.pass_obj
def milestones_reopen(app: AppContext, project_code: str, milestone: str) -> None:
    """Undo a completion recorded by mistake: the milestone is open again and, if overdue,
    back on the board at the next scan."""
    from deadline_watch.board.completion import reopen_milestone

    sessions = app.checked_sessions()
    with db.transaction(sessions) as session:
        reopen_milestone(session, project_code, milestone, now=app.now(), actor="cli")
    click.echo(f"{project_code} {milestone}: 已撤销完成登记,节点重新打开 / reopened (back on the board at the next scan)")


@click.group("outbox")
def outbox_group() -> None:
    """The SMS outbox (every intent, its state and attempts)."""


@outbox_group.command("list")
@click.option("--state", type=click.Choice(["pending", "sending", "sent", "delivered", "undelivered", "failed", "cancelled", "all"]),
              default="all", show_default=True)
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def outbox_list(app: AppContext, state: str, limit: int, as_json: bool) -> None:
    """Newest outbox rows first."""
    from deadline_watch.domain.outbox import list_notifications

    sessions = app.checked_sessions()
    with db.transaction(sessions) as session:
        rows = list_notifications(session, state=state, limit=limit)
        items = [
            {
                "id": row.id,
                "dedup_key": row.dedup_key,
                "rule": row.rule,
                "level": row.level,
                "state": row.state,
                "to": mask_mobile(row.to_number),
                "due_date": row.due_date.isoformat(),
                "days_left": row.days_left,
                "segments": row.segments,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                "last_error": row.last_error,
                "body": row.body,
            }
            for row in rows
        ]
    if as_json:
        _echo_json(items)
        return
    if not items:
        click.echo("发件箱为空 / outbox is empty")
    for item in items:
        click.echo(
            f"#{item['id']} {item['state']:<10} {item['rule']:<10} {item['to']} "
            f"next {item['next_attempt_at']} {item['dedup_key']}"
        )


@click.command("demo")
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True, help="Simulated days to replay.")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), default=Path("demo-data"),
              show_default=True, help="Working folder (its database is recreated).")
@click.option("--no-serve", is_flag=True, help="Stop after the replay instead of serving the board.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.pass_obj
def demo_command(app: AppContext, days: int, directory: Path, no_serve: bool, port: int) -> None:
    """Replay N days of the watch on the sample registry, then serve the board."""
    from deadline_watch.cli.demo import run_demo

    run_demo(app.settings, directory=directory, days=days, serve=not no_serve, port=port, echo=click.echo)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(tick_command)
    group.add_command(run_command)
    group.add_command(escalations_group)
    group.add_command(milestones_group)
    group.add_command(outbox_group)
    group.add_command(demo_command)
