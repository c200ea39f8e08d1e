"""`deadline-watch board`: serve the supervision board."""

from __future__ import annotations

import click

from deadline_watch.core.context import AppContext


@click.command("board")
@click.option("--host", default=None, help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: [web] port, 8000).")
@click.pass_obj
def board_command(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve the supervision board (督办看板) in the browser."""
    from deadline_watch.web.server import serve

    host = host or app.settings.web.host
    port = port or app.settings.web.port
    app.checked_sessions()
    click.echo(f"督办看板 / board: http://{host}:{port}/  (Ctrl+C 停止 / to stop)")
    serve(app, host=host, port=port)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(board_command)
