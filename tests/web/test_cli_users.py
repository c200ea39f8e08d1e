"""`deadline-watch users add|list|token` and `board` wiring."""

from __future__ import annotations

import shutil

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from deadline_watch import users
from deadline_watch.cli import cli, main


@pytest.fixture
def db_arg(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cli.db"
    shutil.copyfile(sqlite_template, path)
    return ["--db", f"sqlite:///{path}"]


def test_users_add_prompts_twice_and_list_shows_the_account(db_arg):
    runner = CliRunner()
    result = runner.invoke(cli, [*db_arg, "users", "add", "zhang", "--role", "supervisor", "--mobile", "13800138000"],
                           input="long-enough\nlong-enough\n")
    assert result.exit_code == 0, result.output
    assert "created user zhang" in result.output
    listing = runner.invoke(cli, [*db_arg, "users", "list"])
    assert "zhang\tsupervisor\tactive\t+8613800138000\t-" in listing.output


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
