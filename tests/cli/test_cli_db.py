"""The CLI skeleton: db commands, exit codes, and no tracebacks for user mistakes."""

from __future__ import annotations

import subprocess
import sys

from deadline_watch.cli import main


def test_db_upgrade_then_current(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["--db", url, "db", "current"]) == 0
    assert "empty" in capsys.readouterr().out
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert main(["--db", url, "db", "current"]) == 0
    assert "(head)" in capsys.readouterr().out


def test_bad_config_exits_2_with_one_line(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[reminders]\nday_mode = 'sometimes'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "deadline_watch", "--config", str(config), "version"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "reminders.day_mode" in lines[0] and str(config) in lines[0]
    assert "Traceback" not in result.stderr


def test_version_prints(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip()


def test_ctx_exit_code_reaches_the_shell(tmp_path):
    """A command that ends with ctx.exit(N) must give exit code N, not 0."""
    import click

    from deadline_watch.cli import cli

    @cli.command("exit-probe")
    @click.pass_context
    def exit_probe(ctx):
        ctx.exit(4)

    try:
        assert main(["exit-probe"]) == 4
    finally:
        cli.commands.pop("exit-probe")
