"""Commands of this area are registered here (filled in by its issue)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ..app import AppContext


@click.command("report")
@click.argument("kind", type=click.Choice(["weekly", "monthly"]))
@click.option("--at", "at_text", metavar="DATE", help="Report date YYYY-MM-DD (default: today in the configured timezone).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "html"]), default="xlsx", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), help="Output file (default: <reports.dir>/<name>.<format>).")
@click.pass_obj
def report_command(app: AppContext, kind: str, at_text: str | None, fmt: str, out_path: Path | None) -> None:
    """Write the weekly dispatch (每周调度) or monthly summary (每月汇总) and print its path."""
    from .. import reports
    from ..clock import local_date
    from ..db import transaction
    from ..errors import DeadlineWatchError

    if at_text is None:
        at = local_date(app.now(), app.settings.tz)
    else:
        try:
            at = date.fromisoformat(at_text.strip())
        except ValueError:
            raise DeadlineWatchError(
                f"日期格式错误: {at_text!r},应为 YYYY-MM-DD", f"bad date {at_text!r}: expected YYYY-MM-DD"
            ) from None
    with transaction(app.checked_sessions()) as session:
        report = reports.build_report(session, kind, at=at, settings=app.settings)
    path = out_path or Path(app.settings.reports.dir) / f"{report.slug}.{fmt}"
    reports.write_atomic(path, reports.render(report, fmt))
    click.echo(str(path))


@click.command("board")
@click.option("--host", default=None, help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: [web] port, 8000).")
@click.pass_obj
def board_command(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve the supervision board (督办看板) in the browser."""
    from ..web.server import serve

    host = host or app.settings.web.host
    port = port or app.settings.web.port
    app.checked_sessions()
    click.echo(f"督办看板 / board: http://{host}:{port}/  (Ctrl+C 停止 / to stop)")
    serve(app, host=host, port=port)


@click.group("users")
def users_group() -> None:
    """Board accounts: add, list, issue API tokens."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码 / password", hide_input=True, confirmation_prompt="再次输入 / repeat")
    return password


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "supervisor", "viewer"]), required=True)
@click.option("--mobile", help="Mobile number; a supervisor with one is notified at escalation level 2.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def users_add(app: AppContext, username: str, role: str, mobile: str | None, password_stdin: bool) -> None:
    """Create a board account (the password is asked for, or read from stdin)."""
    from ..db import transaction
    from ..users import add_user

    sessions = app.checked_sessions()
    password = _read_password(password_stdin)
    with transaction(sessions) as session:
        user = add_user(session, username=username, role=role, password=password, mobile=mobile, now=app.now())
        linked = f", 手机 mobile {user.person.mobile}" if user.person else ""
    click.echo(f"已创建用户 / created user {username} ({role}{linked})")


@users_group.command("list")
@click.pass_obj
def users_list(app: AppContext) -> None:
    """List board accounts."""
    from ..db import transaction
    from ..users import list_users

    with transaction(app.checked_sessions()) as session:
        for user in list_users(session):
            state = "active" if user.active else "disabled"
            token = "token" if user.api_token_hash else "-"
            mobile = user.person.mobile if user.person and user.person.mobile else "-"
            click.echo(f"{user.username}\t{user.role}\t{state}\t{mobile}\t{token}")


@users_group.command("token")
@click.argument("username")
@click.pass_obj
def users_token(app: AppContext, username: str) -> None:
    """Issue a new API token for USERNAME (replaces the old one) and print it once."""
    from ..db import transaction
    from ..users import issue_api_token

    with transaction(app.checked_sessions()) as session:
        token = issue_api_token(session, username=username, now=app.now())
    click.echo(token)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(report_command)
    group.add_command(board_command)
    group.add_command(users_group)
