"""`persons import` and `persons list`: the office's contacts (通讯录) kept in the product."""

from __future__ import annotations

from pathlib import Path

import click

from deadline_watch.cli.registry_cmds import _actor
from deadline_watch.core.context import AppContext
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import RegistryError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.registry import contacts_file
from deadline_watch.registry.persons import check_directory, import_persons, list_persons


@click.group("persons")
def persons_group() -> None:
    """Contacts (通讯录): persons with their mobiles, found by name when a registry lists none."""


@persons_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@click.pass_obj
def persons_import(app: AppContext, path: Path, dry_run: bool) -> None:
    """Import a contacts file (CSV or XLSX with 姓名, 手机[, 单位, 职务])."""
    sessions = app.checked_sessions()
    directory, report = contacts_file(path)
    contacts = check_directory(directory, report)
    for error in report.errors:
        click.echo(f"第 {error.line} 行 line {error.line} [{error.column}] “{error.value}”: {error.reason}")
    if report.errors:
        raise RegistryError(f"通讯录有 {len(report.errors)} 个错误,未写入任何内容",
                            f"the contacts file has {len(report.errors)} error(s); nothing written")
    if dry_run:
        with sessions() as session:
            result = import_persons(session, contacts, now=app.now(), actor=_actor())
            session.rollback()
    else:
        with transaction(sessions) as session:
            result = import_persons(session, contacts, now=app.now(), actor=_actor())
    for line in result.changes:
        click.echo(line)
    head = "试运行,未写入 / dry run, nothing written" if dry_run else "已导入 / imported"
    click.echo(f"{head}: 新增 created {result.created}, 更名 renamed {result.renamed}, "
               f"未变 unchanged {result.unchanged}")


@persons_group.command("list")
@click.option("--full", is_flag=True, help="Show full mobile numbers (default: masked).")
@click.pass_obj
def persons_list(app: AppContext, full: bool) -> None:
    """Every person: name, mobile, unit, roles."""
    sessions = app.checked_sessions()
    with sessions() as session:
        rows = list_persons(session)
    if not rows:
        click.echo("没有人员 / no persons")
    for name, mobile, unit, roles in rows:
        shown = (mobile if full else mask_mobile(mobile)) if mobile else "-"
        click.echo(f"{name}\t{shown}\t{unit or '-'}\t{roles or '-'}")


def register(group: click.Group) -> None:
    group.add_command(persons_group)
