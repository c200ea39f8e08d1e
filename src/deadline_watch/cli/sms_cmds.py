"""Commands of this area are registered here (filled in by its issue)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError


@click.command("fake-twilio")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--account-sid", default=None, help="Account SID clients must use (default: a fixed fake AC...).")
@click.option("--auth-token", default=None, help="Auth token clients must use (default: a fixed fake token).")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of sends answered with a random transient 500/503.")
@click.option("--latency", "latency_ms", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Milliseconds to wait before each answer (the message is accepted first).")
@click.option("--error-code", default=None, type=int, help="Every send fails with this Twilio error code, e.g. 21211.")
@click.option("--record", "record_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Append every accepted message to this JSON-lines file.")
@click.option("--callbacks", "callback_statuses", default="", show_default=False,
              help='Statuses to post to each StatusCallback, comma-separated, e.g. "sent,delivered".')
@click.option("--callback-delay", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Seconds between accepting a message and posting its status callbacks.")
def fake_twilio_command(
    host: str,
    port: int,
    account_sid: str | None,
    auth_token: str | None,
    fail_rate: float,
    latency_ms: float,
    error_code: int | None,
    record_path: Path | None,
    callback_statuses: str,
    callback_delay: float,
) -> None:
    """Run a local Twilio-compatible server (development, tests, benchmarks) until Ctrl-C."""
    from ..sms.fake_twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

    fake = FakeTwilio(
        host=host,
        port=port,
        account_sid=account_sid or DEFAULT_ACCOUNT_SID,
        auth_token=auth_token or DEFAULT_AUTH_TOKEN,
        fail_rate=fail_rate,
        latency_ms=latency_ms,
        error_code=error_code,
        record_path=record_path,
        callback_statuses=[status.strip() for status in callback_statuses.split(",") if status.strip()],
        callback_delay=callback_delay,
    )
    try:
        fake.start()
    except OSError as exc:
        raise ConfigError(
            f"无法监听 {host}:{port}: {exc.strerror}", f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from None
    click.echo(f"# fake Twilio listening on {fake.base_url} (Ctrl-C to stop); export:")
    for name, value in fake.env().items():
        click.echo(f"export {name}={value}")
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        click.echo(f"# stopped; {len(fake.messages)} message(s) accepted", err=True)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(fake_twilio_command)
