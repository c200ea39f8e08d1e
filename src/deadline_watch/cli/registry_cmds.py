"""`import` and `export`: the registry commands. Parsing options and printing the report
only; the work is in `deadline_watch.registry`."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click

from deadline_watch.core.clock import local_date
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import RegistryError
from deadline_watch.registry import ImportOptions, ImportReport, export_path, import_path
from deadline_watch.registry.limits import limits_from
from deadline_watch.registry.report import Change

# Without --dry-run a large first import would print one line per created row; the
# created ones are summarised past this many (--dry-run and --json list them all).
CREATED_LINES_SHOWN = 50
ERRORS_IN_TABLE = 1000


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry in some containers
        return "cli"


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--encoding", help="Force the CSV encoding (default: detect UTF-8 / GB18030).")
@click.option("--sheet", help="XLSX sheet name (default: the first sheet).")
@click.option("--prune", is_flag=True, help="Mark projects and milestones absent from the file cancelled.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows, report the rest (exit 1 if any).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--year", type=click.IntRange(2000, 2100),
              help="Year of deadline phrases without one (6月底前); default: the title row's year.")
@click.option("--contacts", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="通讯录 (CSV or XLSX: 姓名, 手机[, 单位, 职务]) supplying mobiles by name.")
@click.option("--accept-renames", is_flag=True,
              help="A task whose name changed slightly keeps its code (疑似更名 is otherwise an error).")
@click.option("--max-errors", type=click.IntRange(1, 100_000),
              help="Stop after this many errors (default: registry.max_errors, 1000).")
@click.pass_obj
def import_command(app: AppContext, path: Path, dry_run: bool, encoding: str | None,
                   sheet: str | None, prune: bool, skip_invalid: bool, as_json: bool,
                   year: int | None, contacts: Path | None, accept_renames: bool,
                   max_errors: int | None) -> None:
    """Import the key-project registry from a CSV or XLSX file: the product's format (one row
    per milestone) or an office 责任分解表 (one row per task, deadlines in words)."""
    sessions = app.checked_sessions()
    options = ImportOptions(dry_run=dry_run, prune=prune, skip_invalid=skip_invalid,
                            encoding=encoding, sheet=sheet, year=year, contacts=contacts,
                            accept_renames=accept_renames, today=local_date(app.now(), app.settings.tz),
                            recurring_ahead=app.settings.reminders.recurring_ahead,
                            limits=limits_from(app.settings.registry, max_errors=max_errors))
    terminal = sys.stderr.isatty() and not as_json
    if terminal:
        report = _import_with_bar(app, sessions, path, options)
    else:
        report = import_path(sessions, path, now=app.now(), options=options, actor=_actor(),
                             progress=None if as_json else _plain_progress())
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif sys.stdout.isatty():
        _print_rich(report)
    else:
        _print_plain(report)
    if report.errors:
        # exit 1 through the CLI's one error path (click's Exit code is lost by main())
        written = "有效行已写入 / the valid rows were written" if report.written else "未写入 / nothing written"
        raise RegistryError(
            f"导入发现 {len(report.errors)} 个错误,{written}",
            f"the import found {len(report.errors)} error(s); {written.split(' / ')[1]}",
        )


def _import_with_bar(app: AppContext, sessions, path: Path, options: ImportOptions) -> ImportReport:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), transient=True,
                  console=_console(stderr=True)) as bar:
        task = bar.add_task("读取 reading", total=None)

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage == "read":
                bar.update(task, completed=done, total=total)
            elif done == 0:
                bar.update(task, description="写入 writing", total=None, completed=0)

        return import_path(sessions, path, now=app.now(), options=options, actor=_actor(),
                           progress=progress)


def _plain_progress():
    """Plain lines on stderr for a large file when not on a terminal (e.g. cron, CI logs)."""
    state = {"shown": 0}

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "read" and total and total >= 5_000_000 and done - state["shown"] >= total // 10:
            state["shown"] = done
            click.echo(f"读取 reading {done * 100 // total}%", err=True)
        elif stage == "write" and done == 0 and state["shown"]:
            click.echo("写入 writing ...", err=True)

    return progress


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _change_lines(report: ImportReport) -> list[str]:
    changes: list[Change] = report.changes
    readings = [item.describe() for item in report.interpretations]
    if report.dry_run:
        return readings + [change.describe() for change in changes]
    shown = [c for c in changes if c.action != "created"]
    created = [c for c in changes if c.action == "created"]
    lines = [c.describe() for c in created[:CREATED_LINES_SHOWN]]
    if len(created) > CREATED_LINES_SHOWN:
        lines.append(f"... 另有 {len(created) - CREATED_LINES_SHOWN} 项新增 / "
                     f"{len(created) - CREATED_LINES_SHOWN} more created (--json lists all)")
    return readings + lines + [c.describe() for c in shown]


def _print_plain(report: ImportReport) -> None:
    for line in _change_lines(report):
        click.echo(line)
    for error in report.errors:
        where = f"第 {error.line} 行 line {error.line}" if error.line is not None else "文件 file"
        column = f" [{error.column}]" if error.column else ""
        value = f" “{error.value}”" if error.value else ""
        click.echo(f"{where}{column}{value}: {error.reason}")
    for line in report.summary_lines():
        click.echo(line)


def _print_rich(report: ImportReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    for line in _change_lines(report):
        console.print(escape(line))
    if report.errors:
        table = Table(title=f"错误 errors ({len(report.errors)})", show_lines=False)
        for title in ("行 line", "列 column", "值 value", "原因 reason"):
            table.add_column(title, overflow="fold")
        for error in report.errors[:ERRORS_IN_TABLE]:
            table.add_row("" if error.line is None else str(error.line), escape(error.column or ""),
                          escape(error.value), escape(error.reason))
        console.print(table)
        if len(report.errors) > ERRORS_IN_TABLE:
            console.print(f"... {len(report.errors) - ERRORS_IN_TABLE} more (--json lists all)")
    for line in report.summary_lines():
        console.print(escape(line))


@click.command("export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def export_command(app: AppContext, path: Path) -> None:
    """Write the registry to PATH in the import format (.csv UTF-8 with BOM, or .xlsx)."""
    sessions = app.checked_sessions()
    with sessions() as session:
        count = export_path(session, path)
    click.echo(f"已导出 {count} 行 / exported {count} rows to {path}")


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(import_command)
    group.add_command(export_command)
