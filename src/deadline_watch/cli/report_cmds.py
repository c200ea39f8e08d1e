"""`deadline-watch report`: write the weekly dispatch, the monthly summary or the 通报 to a file."""

from __future__ import annotations

from pathlib import Path

import click

from deadline_watch.core.context import AppContext


@click.command("report")
@click.argument("kind", type=click.Choice(["weekly", "monthly", "bulletin"]))
@click.option("--at", "at_text", metavar="DATE", help="Report date YYYY-MM-DD (default: today in the configured timezone).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "html", "docx"]), default=None,
              help="weekly/monthly: xlsx (default), csv or html; bulletin: docx (default) or html.")
@click.option("--out", "out_path", type=click.Path(path_type=Path, dir_okay=False), help="Output file (default: <reports.dir>/<name>.<format>).")
@click.pass_obj
def report_command(app: AppContext, kind: str, at_text: str | None, fmt: str | None, out_path: Path | None) -> None:
    """Write the weekly dispatch (每周一调度), the monthly summary (每月汇总) or the month's 通报
    (bulletin: the month before DATE, like monthly) and print its path."""
    from deadline_watch.board.report_files import render, write_atomic
    from deadline_watch.board.report_tables import build_report
    from deadline_watch.core.clock import local_date, parse_day
    from deadline_watch.core.db import transaction
    from deadline_watch.core.errors import ConfigError

    allowed = ("docx", "html") if kind == "bulletin" else ("xlsx", "csv", "html")
    fmt = fmt or allowed[0]
    if fmt not in allowed:
        raise click.UsageError(f"--format {fmt} does not apply to {kind} (use {' or '.join(allowed)})")
    if at_text is None:
        at = local_date(app.now(), app.settings.tz)
    else:
        try:
            at = parse_day(at_text)
        except ValueError:
            raise ConfigError(
                f"日期格式错误: {at_text[:40]!r},应为 2000-2100 年间的 YYYY-MM-DD",
                f"bad date {at_text[:40]!r}: expected YYYY-MM-DD within 2000-2100",
            ) from None
    if kind == "bulletin":
        from deadline_watch.board.bulletin import monthly_bulletin
        from deadline_watch.board.bulletin_papers import render_bulletin

        with transaction(app.checked_sessions()) as session:
            bulletin = monthly_bulletin(session, at=at, settings=app.settings)
        slug, content = bulletin.slug, render_bulletin(bulletin, fmt, app.settings)
    else:
        with transaction(app.checked_sessions()) as session:
            report = build_report(session, kind, at=at, settings=app.settings)
        slug, content = report.slug, render(report, fmt)
    path = out_path or Path(app.settings.reports.dir) / f"{slug}.{fmt}"
    write_atomic(path, content)
    click.echo(str(path))


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(report_command)
