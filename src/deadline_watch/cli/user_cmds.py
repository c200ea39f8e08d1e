"""`deadline-watch users`: board accounts (add, list, token, deactivate/activate, unlock, passwd)."""

from __future__ import annotations

import sys

import click

from deadline_watch.cli.registry_cmds import _actor as cli_actor
from deadline_watch.core.context import AppContext


@click.group("users")
def users_group() -> None:
    """Board accounts: add, list, API tokens, deactivate/activate, unlock, passwd."""


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
@click.option("--display-name", help="How SMS and the board address the user, e.g. 王督查 (required with --mobile for a supervisor).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def users_add(app: AppContext, username: str, role: str, mobile: str | None, password_stdin: bool,
              display_name: str | None) -> None:
    """Create a board account (the password is asked for, or read from stdin)."""
    from deadline_watch.board.users import add_user
    from deadline_watch.core.db import transaction

    sessions = app.checked_sessions()
    password = _read_password(password_stdin)
    with transaction(sessions) as session:
        user = add_user(
            session, username=username, role=role, password=password, mobile=mobile, now=app.now(), actor=cli_actor(),
            display_name=display_name,
        )
        linked = f", 手机 mobile {user.person.mobile}" if user.person else ""
    click.echo(f"已创建用户 / created user {username} ({role}{linked})")


@users_group.command("list")
@click.pass_obj
def users_list(app: AppContext) -> None:
    """List board accounts."""
    from deadline_watch.board.users import list_users
    from deadline_watch.core.db import transaction

    with transaction(app.checked_sessions()) as session:
        for user in list_users(session):
            state = "active" if user.active else "disabled"
            token = "token" if user.api_token_hash else "-"
            mobile = user.person.mobile if user.person and user.person.mobile else "-"
            click.echo(f"{user.username}\t{user.display_name or '-'}\t{user.role}\t{state}\t{mobile}\t{token}")


@users_group.command("token")
@click.argument("username")
@click.pass_obj
def users_token(app: AppContext, username: str) -> None:
    """Issue a new API token for USERNAME (replaces the old one) and print it once."""
    from deadline_watch.board.users import issue_api_token
    from deadline_watch.core.db import transaction

    with transaction(app.checked_sessions()) as session:
        token = issue_api_token(session, username=username, now=app.now(), actor=cli_actor())
    click.echo(token)


@users_group.command("deactivate")
@click.argument("username")
@click.pass_obj
def users_deactivate(app: AppContext, username: str) -> None:
    """Deactivate USERNAME: no login, their sessions and API token stop working at once."""
    _set_active(app, username, active=False)


@users_group.command("activate")
@click.argument("username")
@click.pass_obj
def users_activate(app: AppContext, username: str) -> None:
    """Reactivate a deactivated USERNAME."""
    _set_active(app, username, active=True)


def _set_active(app: AppContext, username: str, *, active: bool) -> None:
    from deadline_watch.board.users import set_active
    from deadline_watch.core.db import transaction

    with transaction(app.checked_sessions()) as session:
        changed = set_active(session, username=username, active=active, now=app.now(), actor=cli_actor())
    if active:
        done = "已启用 / activated" if changed else "本已启用 / was already active"
    else:
        done = "已停用,现有登录已失效 / deactivated, existing sessions ended" if changed \
            else "本已停用 / was already inactive"
    click.echo(f"用户 user {username}: {done}")


@users_group.command("unlock")
@click.argument("username")
@click.pass_obj
def users_unlock(app: AppContext, username: str) -> None:
    """Clear USERNAME's failed logins and lock so they can log in at once."""
    from deadline_watch.board.users import unlock
    from deadline_watch.core.db import transaction

    with transaction(app.checked_sessions()) as session:
        changed = unlock(session, username=username, now=app.now(), actor=cli_actor())
    done = "已解锁 / unlocked" if changed else "未被锁定 / was not locked"
    click.echo(f"用户 user {username}: {done}")


@users_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def users_passwd(app: AppContext, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (asked for twice, or read from stdin); ends their sessions."""
    from deadline_watch.board.users import get_user, set_password
    from deadline_watch.core.db import transaction

    sessions = app.checked_sessions()
    with transaction(sessions) as session:
        get_user(session, username)  # an unknown name fails before the password is typed
    password = _read_password(password_stdin)
    with transaction(sessions) as session:
        set_password(session, username=username, password=password, now=app.now(), actor=cli_actor())
    click.echo(f"用户 user {username}: 密码已修改,现有登录已失效 / password changed, existing sessions ended")


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(users_group)
