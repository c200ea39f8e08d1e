"""`deadline-watch users add|list|token|deactivate|activate|unlock|passwd` and `board` wiring."""

from __future__ import annotations

import io
import shutil
import sys

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import select

from deadline_watch.board import logins, users
from deadline_watch.cli import cli, main
from deadline_watch.cli.registry_cmds import _actor as cli_actor
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import AuditEvent

from .conftest import PASSWORD, login


@pytest.fixture
def db_arg(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, path)
    return ["--db", f"sqlite:///{path}"]


def test_users_add_prompts_twice_and_list_shows_the_account(db_arg):
    runner = CliRunner()
    result = runner.invoke(cli, [*db_arg, "users", "add", "zhang", "--role", "supervisor", "--mobile", "13800138000",
                                 "--display-name", "张督查"],
                           input="long-enough\nlong-enough\n")
    assert result.exit_code == 0, result.output
    assert "created user zhang" in result.output
    listing = runner.invoke(cli, [*db_arg, "users", "list"])
    assert "zhang\t张督查\tsupervisor\tactive\t+8613800138000\t-" in listing.output


def test_users_add_refuses_a_notified_supervisor_without_a_display_name(db_arg, capsys):
    sys.stdin = io.StringIO("long-enough\n")
    try:
        code = main([*db_arg, "users", "add", "li", "--role", "supervisor", "--mobile", "13800138001", "--password-stdin"])
    finally:
        sys.stdin = sys.__stdin__
    assert code == 1 and "--display-name" in capsys.readouterr().err


def test_users_add_with_a_display_name_names_the_account_on_the_board(db_arg, tmp_path):
    result = CliRunner().invoke(cli, [*db_arg, "users", "add", "zhang", "--role", "supervisor", "--password-stdin",
                                      "--display-name", "张督办"], input="long-enough\n")
    assert result.exit_code == 0, result.output
    from deadline_watch.core import db
    from deadline_watch.domain.models import User

    engine = db.make_engine(db_arg[1])
    with transaction(db.session_factory(engine)) as session:
        assert session.scalars(select(User).where(User.username == "zhang")).one().display_name == "张督办"
    engine.dispose()


def test_users_add_reads_the_password_from_stdin(db_arg):
    result = CliRunner().invoke(cli, [*db_arg, "users", "add", "bot", "--role", "viewer", "--password-stdin"],
                                input="long-enough\n")
    assert result.exit_code == 0, result.output


def test_users_add_with_a_short_password_exits_1_with_a_message(db_arg, capsys):
    import io
    import sys

    sys.stdin = io.StringIO("short\n")
    try:
        code = main([*db_arg, "users", "add", "bot", "--role", "viewer", "--password-stdin"])
    finally:
        sys.stdin = sys.__stdin__
    assert code == 1
    assert "密码至少" in capsys.readouterr().err


def test_users_token_prints_a_working_token(db_arg):
    runner = CliRunner()
    runner.invoke(cli, [*db_arg, "users", "add", "bot", "--role", "viewer", "--password-stdin"], input="long-enough\n")
    result = runner.invoke(cli, [*db_arg, "users", "token", "bot"])
    assert result.exit_code == 0
    assert result.output.strip().startswith("dw_")
    assert "token" in runner.invoke(cli, [*db_arg, "users", "list"]).output


def test_board_refuses_a_database_without_schema(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["--db", f"sqlite:///{tmp_path / 'empty.db'}", "board", "--port", "8765"])
    assert code == 3
    assert "db upgrade" in capsys.readouterr().err


# --- deactivate / activate / unlock / passwd, on SQLite and PostgreSQL against the board ---


@pytest.fixture
def run(db_url, tmp_path, monkeypatch, capsys):
    """`deadline-watch --db <the board's database> ...` through `main`; returns (code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run_cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run_cli


def audit_actions(board, username: str) -> list[tuple[str, str]]:
    with transaction(board.sessions) as session:
        user = users.get_user(session, username)
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user.id)
            .order_by(AuditEvent.id)
        )
        return [(event.action, event.actor) for event in events]


def test_deactivated_user_cannot_log_in_and_their_session_cookie_stops_working(board, run):
    client = board.login("super1")
    assert client.get("/api/me").status_code == 200
    code, out, _ = run("users", "deactivate", "super1")
    assert code == 0 and "user super1: 已停用" in out
    assert client.get("/api/me").status_code == 401
    assert client.get("/").status_code == 303
    assert login(board.client(), "super1").status_code == 401
    action, actor = audit_actions(board, "super1")[-1]
    assert action == "user.deactivated" and actor == cli_actor()
    assert "\tsupervisor\tdisabled\t" in run("users", "list")[1]


def test_deactivated_user_api_token_is_refused(board, run):
    token = run("users", "token", "super2")[1].strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert board.client().get("/api/me", headers=headers).status_code == 200
    run("users", "deactivate", "super2")
    assert board.client().get("/api/me", headers=headers).status_code == 401


def test_reactivated_user_can_log_in_again(board, run):
    run("users", "deactivate", "viewer1")
    code, out, _ = run("users", "activate", "viewer1")
    assert code == 0 and "user viewer1: 已启用 / activated" in out
    assert login(board.client(), "viewer1").status_code == 303
    assert [a for a, _ in audit_actions(board, "viewer1")][-2:] == ["user.deactivated", "user.activated"]


def test_reactivating_does_not_revive_old_sessions_or_tokens(board, run):
    client = board.login("super1")
    token = run("users", "token", "super1")[1].strip()
    headers = {"Authorization": f"Bearer {token}"}
    run("users", "deactivate", "super1")
    run("users", "activate", "super1")
    assert client.get("/api/me").status_code == 401
    assert board.client().get("/api/me", headers=headers).status_code == 401
    fresh = board.login("super1")
    assert fresh.get("/api/me").status_code == 200


def test_deactivating_twice_says_so_and_records_one_event(board, run):
    run("users", "deactivate", "viewer1")
    code, out, _ = run("users", "deactivate", "viewer1")
    assert code == 0 and "was already inactive" in out
    assert [a for a, _ in audit_actions(board, "viewer1")].count("user.deactivated") == 1


def test_unlock_lets_a_locked_user_in_at_once(board, run):
    client = board.client()
    for _ in range(logins.FAILURES_BEFORE_LOCK):
        login(client, "super1", "wrong-password")
    assert login(client, "super1").status_code == 401  # locked, and the clock does not move
    code, out, _ = run("users", "unlock", "super1")
    assert code == 0 and "user super1: 已解锁 / unlocked" in out
    assert login(board.client(), "super1").status_code == 303
    assert "user.unlocked" in [a for a, _ in audit_actions(board, "super1")]


def test_passwd_from_stdin_changes_the_password_and_ends_sessions(board, run):
    client = board.login("admin1")
    code, out, _ = run("users", "passwd", "admin1", "--password-stdin", stdin="a-brand-new-pass\n")
    assert code == 0 and "user admin1: 密码已修改" in out
    assert client.get("/api/me").status_code == 401
    assert login(board.client(), "admin1", PASSWORD).status_code == 401
    assert login(board.client(), "admin1", "a-brand-new-pass").status_code == 303
    action, actor = audit_actions(board, "admin1")[-1]
    assert action == "user.password_changed" and actor == cli_actor()


def test_passwd_prompts_twice_and_asks_again_when_they_differ(board, db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", db_url, "users", "passwd", "viewer1"],
                                input="first-try-123\nsecond-try-123\nagreed-pass-1\nagreed-pass-1\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert login(board.client(), "viewer1", "agreed-pass-1").status_code == 303


def test_passwd_with_a_short_password_exits_1_and_keeps_the_old_one(board, run):
    code, _, err = run("users", "passwd", "viewer1", "--password-stdin", stdin="short\n")
    assert code == 1
    assert "密码至少" in err and "at least" in err
    assert login(board.client(), "viewer1").status_code == 303


@pytest.mark.parametrize("command", [["deactivate"], ["activate"], ["unlock"], ["passwd", "--password-stdin"]])
def test_unknown_username_exits_1_with_one_bilingual_line(board, run, command):
    code, out, err = run("users", command[0], "nobody", *command[1:], stdin="long-enough-1\n")
    assert code == 1
    assert err.strip() == "错误 error: 用户不存在: nobody / no such user: nobody"
    assert "Traceback" not in out + err
