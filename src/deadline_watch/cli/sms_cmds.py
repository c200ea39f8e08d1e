"""SMS commands: `deliver` (one delivery pass), `resend` (requeue a failed SMS), `fake-twilio`, `fake-aliyun`,
`aliyun-templates` (the texts to file with Alibaba Cloud)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from deadline_watch.core.errors import ConfigError

if TYPE_CHECKING:
    from deadline_watch.core.context import AppContext
    from deadline_watch.fakes.local_server import LocalFake


def fake_server_options(default_port: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--host, --port and --record, as every fake provider command takes them."""

    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed((
            click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on."),
            click.option("--port", default=default_port, show_default=True, type=int,
                         help="Port (0 picks a free one)."),
            click.option("--record", "record_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
                         help="Append every accepted message to this JSON-lines file."),
        )):
            command = option(command)
        return command

    return add


def serve_fake(fake: LocalFake, *, host: str, port: int, title: str) -> None:
    """Start `fake`, print the environment that points deadline-watch at it, serve until Ctrl-C."""
    try:
        fake.start()
    except OSError as exc:
        raise ConfigError(
            f"无法监听 {host}:{port}: {exc.strerror}", f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from None
    # Ctrl-C may come as soon as the address is printed, before serving starts: caught the same
    try:
        click.echo(f"# {title} listening on {fake.base_url} (Ctrl-C to stop); export:")
        for name, value in fake.env().items():
            click.echo(f"export {name}={value}")
        fake.serve_forever()
    except KeyboardInterrupt:
        fake.stop()
        click.echo(f"# stopped; {len(fake.messages)} message(s) accepted", err=True)


@click.command("fake-twilio")
@fake_server_options(8765)
@click.option("--account-sid", default=None, help="Account SID clients must use (default: a fixed fake AC...).")
@click.option("--auth-token", default=None, help="Auth token clients must use (default: a fixed fake token).")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of sends answered with a random transient 500/503.")
@click.option("--latency", "latency_ms", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Milliseconds to wait before each answer (the message is accepted first).")
@click.option("--error-code", default=None, type=int, help="Every send fails with this Twilio error code, e.g. 21211.")
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
    from deadline_watch.fakes.twilio import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

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
    serve_fake(fake, host=host, port=port, title="fake Twilio")


@click.command("fake-aliyun")
@fake_server_options(8766)
@click.option("--access-key-id", default=None, help="AccessKey id clients must use (default: a fixed fake one).")
@click.option("--access-key-secret", default=None, help="AccessKey secret requests must be signed with.")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of sends refused with a transient error (isv.BUSINESS_LIMIT_CONTROL, Throttling.User, 503).")
@click.option("--latency", "latency_ms", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Milliseconds to wait before each answer.")
@click.option("--error-code", default=None, help="Every send fails with this code, e.g. isv.MOBILE_NUMBER_ILLEGAL.")
@click.option("--receipt-delay", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a message waits for its delivery receipt (SendStatus 1) before it is delivered.")
def fake_aliyun_command(
    host: str,
    port: int,
    access_key_id: str | None,
    access_key_secret: str | None,
    fail_rate: float,
    latency_ms: float,
    error_code: str | None,
    receipt_delay: float,
    record_path: Path | None,
) -> None:
    """Run a local Alibaba Cloud SMS server (SendSms, QuerySendDetails) until Ctrl-C."""
    from deadline_watch.fakes.aliyun import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FakeAliyun

    fake = FakeAliyun(
        host=host,
        port=port,
        access_key_id=access_key_id or DEFAULT_ACCESS_KEY_ID,
        access_key_secret=access_key_secret or DEFAULT_ACCESS_KEY_SECRET,
        fail_rate=fail_rate,
        latency_ms=latency_ms,
        error_code=error_code,
        receipt_delay=receipt_delay,
        record_path=record_path,
    )
    serve_fake(fake, host=host, port=port, title="fake Alibaba Cloud SMS")


@click.command("aliyun-templates")
@click.pass_obj
def aliyun_templates_command(app: AppContext) -> None:
    """Print the Alibaba Cloud template texts this configuration needs, to file exactly as shown."""
    from deadline_watch.sms.aliyun_backend import texts_to_file

    for kind, text in texts_to_file(app.settings):
        click.echo(f"# {kind}")
        click.echo(text)


@click.command("deliver")
@click.option("--now", "now_text", metavar="INSTANT",
              help="Deliver as if it were this instant (ISO 8601; without an offset: the configured timezone).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_obj
def deliver_command(app: AppContext, now_text: str | None, as_json: bool) -> None:
    """Run one delivery pass: reconcile stale claims, send every due SMS, record the outcomes."""
    import json
    import sys

    from deadline_watch.core.clock import parse_instant
    from deadline_watch.daemon.tick import deliver_under_lease, lease_busy_error
    from deadline_watch.sms.factory import make_backend

    settings = app.settings
    sessions = app.checked_sessions()
    # with --json the console backend's messages go to stderr so stdout stays one JSON object
    backend = make_backend(settings, stream=sys.stderr if as_json else None)
    if now_text:
        try:
            now = parse_instant(now_text.strip(), settings.tz)
        except ValueError:
            raise ConfigError(
                f"时间格式错误: {now_text[:40]!r},应为 2000-2100 年间的 ISO 8601 时间",
                f"bad instant {now_text[:40]!r}: expected ISO 8601 within 2000-2100",
            ) from None
        options: dict = {}
    else:
        now, options = app.now(), {"clock": app.clock}
    # beside running daemons: wait for their pass to end, then send alone (one rate cap)
    wait = settings.scheduler.lease_wait_seconds
    result = deliver_under_lease(app.engine, sessions, backend, settings, now=now, wait_seconds=wait, **options)
    if result is None:
        raise lease_busy_error(wait)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(
            f"已发送 sent {result.sent} · 失败 failed {result.failed} · 推迟 deferred {result.deferred} · "
            f"核对 reconciled {result.reconciled} · 重排 requeued {result.requeued} · "
            f"取消 cancelled {result.cancelled}"
        )
    if result.auth_failed:
        code = result.account_error or "?"
        raise ConfigError(
            f"短信服务商拒绝了账号 ({code}: 凭据、签名、模板或余额),已停止发送,队列保留不变",
            f"the SMS provider refused the account ({code}: credentials, signature, template or balance); "
            "sending stopped and the queue is kept",
        )


@click.command("resend")
@click.argument("notification_id", type=int)
@click.pass_obj
def resend_command(app: AppContext, notification_id: int) -> None:
    """Put a failed, undelivered or cancelled SMS back in the queue for the next delivery pass."""
    from deadline_watch.core.db import transaction
    from deadline_watch.delivery.resend import requeue

    with transaction(app.checked_sessions()) as session:
        row = requeue(session, notification_id, now=app.now(), actor="cli")
        click.echo(f"短信 {row.id} 已重新排队 / notification {row.id} queued again")


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(fake_twilio_command)
    group.add_command(fake_aliyun_command)
    group.add_command(aliyun_templates_command)
    group.add_command(deliver_command)
    group.add_command(resend_command)
