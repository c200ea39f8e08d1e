"""Tables the CLI prints in more than one command (`escalations list`, `demo`)."""

from __future__ import annotations

import click


def print_escalations(rows, total: int, echo=click.echo) -> None:
    if not rows:
        echo("没有督办事项 / no escalations")
        return
    for row in rows:
        echo(
            f"#{row.id} [{row.state} L{row.level}] {row.project_code} {row.project_name} · {row.milestone} "
            f"截止 {row.due_date.isoformat()} 逾期 {row.days_overdue} 天 · {row.unit} · {row.owner or '-'}"
        )
    if total > len(rows):
        echo(f"... 共 {total} 项 / {total} in all")
