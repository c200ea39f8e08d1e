"""`deadline-watch demo`: the whole product on the sample registry in under a minute.

Creates a fresh SQLite database in a working folder, imports the packaged sample
registry with its dates shifted so that, on the first simulated day, some milestones are
already overdue and others fall inside the reminder window, replays N days of ticks with
a FixedClock (console SMS printed as they are sent), prints the escalation list, then
serves the board with a demo supervisor account. The replay ends at the current time,
so the board shown afterwards agrees with the clock.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from deadline_watch.board.users import add_user
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock, SystemClock, local_date
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import configure_logging
from deadline_watch.registry import ImportOptions, import_path
from deadline_watch.watch.service import EscalationEvent

DATE_COLUMNS = ("截止日期", "完成日期")
TICK_TIMES = (time(0, 5), time(8, 30), time(11, 0), time(15, 0), time(19, 30))
WEEKDAYS = "一二三四五六日"
DEMO_SUPERVISOR = "demo-supervisor"
DEMO_SUPERVISOR_MOBILE = "+8613900000000"
OVERDUE_AT_START = 9  # at most this many days overdue on day one, so levels rise during the replay


def sample_registry_text() -> str:
    return resources.files("deadline_watch").joinpath("data/registry_sample.csv").read_text(encoding="utf-8-sig")


def choose_shift(open_dates: list[date], start: date, days: int) -> timedelta:
    """The shift (in days) that puts the most open milestones between 12 days overdue on
    `start` and the reminder window of the last day (few older ones), at least one overdue."""
    best: tuple[int, int, int] | None = None
    for anchor in open_dates:
        for overdue in range(1, OVERDUE_AT_START + 1):
            shift = (start - timedelta(days=overdue)) - anchor
            moved = [day + shift for day in open_dates]
            overdue_now = sum(1 for day in moved if start - timedelta(days=12) <= day < start)
            upcoming = sum(1 for day in moved if start <= day <= start + timedelta(days=days + 7))
            stale = sum(1 for day in moved if day < start - timedelta(days=12))
            score = (min(overdue_now, 3) + min(upcoming, 12) - stale, -abs(shift.days), shift.days)
            if overdue_now >= 1 and (best is None or score > best):
                best = score
    return timedelta(days=best[2]) if best else (start - timedelta(days=OVERDUE_AT_START)) - min(open_dates)


def shifted_registry(text: str, start: date, days: int = 14) -> tuple[str, int]:
    """The sample with every date moved by the same number of days (choose_shift) so that
    on `start` some milestones are overdue and others come into the reminder window."""
    rows = list(csv.DictReader(io.StringIO(text)))
    open_dates = [date.fromisoformat(row["截止日期"]) for row in rows if not (row.get("完成日期") or "").strip()]
    if not open_dates:
        raise DeadlineWatchError("示例台账没有未完成节点", "the sample registry has no open milestone")
    shift = choose_shift(open_dates, start, days)
    for row in rows:
        for column in DATE_COLUMNS:
            value = (row.get(column) or "").strip()
            if value:
                row[column] = (date.fromisoformat(value) + shift).isoformat()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), shift.days


def demo_settings(base: Settings, directory: Path) -> Settings:
    return base.model_copy(
        update={
            "database": base.database.model_copy(update={"url": f"sqlite:///{(directory / 'deadline-watch.db').resolve()}"}),
            "sms": base.sms.model_copy(update={"backend": "console", "rate_per_second": 1000.0}),
            "reports": base.reports.model_copy(update={"dir": directory / "reports"}),
        }
    )


def run_demo(
    base_settings: Settings,
    *,
    directory: Path,
    days: int = 14,
    serve: bool = True,
    port: int = 8000,
    echo: Callable[[str], None] = print,
    today: date | None = None,
) -> AppContext:
    """Replay `days` simulated days up to now; returns the (real-clock) app context."""
    from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
    from deadline_watch.daemon.tick import run_tick
    from deadline_watch.sms.factory import make_backend

    configure_logging("warning", "console")
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("deadline-watch.db*"):
        leftover.unlink()
    settings = demo_settings(base_settings, directory)
    tz = settings.tz
    real_now = SystemClock(tz).now()
    if today is not None:
        real_now = datetime.combine(today, time(23, 59), tzinfo=tz)
    real_today = local_date(real_now, tz)
    start = real_today - timedelta(days=days)
    clock = FixedClock(datetime.combine(start, time(0, 1), tzinfo=tz))
    app = AppContext(settings=settings, clock=clock)
    db.upgrade(app.engine)
    sessions = app.sessions

    registry_csv, shift = shifted_registry(sample_registry_text(), start, days)
    registry_path = directory / "registry_demo.csv"
    registry_path.write_text(registry_csv, encoding="utf-8-sig")
    password = secrets.token_urlsafe(9)
    _import_registry(sessions, registry_path, now=clock.now(), echo=echo)
    _add_supervisor(sessions, password, now=clock.now(), echo=echo)
    echo(f"示例台账 sample registry: {registry_path} (日期整体平移 dates shifted by {shift} 天 days)")
    echo(f"数据库 database: {settings.database.url}")

    backend = make_backend(settings, stream=_EchoStream(echo, clock))
    completed_one = False
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        echo("")
        echo(f"════ {day.isoformat()} 星期{WEEKDAYS[day.weekday()]} ════")
        for moment in TICK_TIMES:
            if datetime.combine(day, moment, tzinfo=tz) > real_now:
                break  # the replay stops at the real "now", so the board agrees with the clock
            clock.set(datetime.combine(day, moment, tzinfo=tz))
            result = run_tick(sessions, settings, now=clock.now(), backend=backend)
            for event in result.scan.escalation_events:
                _echo_event(event, clock.now(), echo)
        if offset == 2 and not completed_one:
            completed_one = _complete_one(sessions, clock.now(), tz, echo)

    with db.transaction(sessions) as session:
        rows, total = list_escalations(session, EscalationFilter(), today=real_today, tz=tz, limit=100)
    echo("")
    echo(f"════ 督办台 escalation board as of {real_today.isoformat()}: {total} 项 open ════")
    from deadline_watch.cli.printing import print_escalations

    print_escalations(rows, total, echo=echo)
    live = AppContext(settings=settings, clock=SystemClock(tz))
    if serve:
        _serve(live, port, password, echo)
    else:
        echo("")
        echo(f"看板账号 board login: {DEMO_SUPERVISOR} / {password} (deadline-watch --db {settings.database.url} board)")
    return live


class _EchoStream:
    """Lets the console backend print through `echo` (click.echo in the CLI)."""

    def __init__(self, echo: Callable[[str], None], clock: FixedClock | None = None) -> None:
        self._echo = echo
        self._clock = clock
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if self._clock is not None and line.startswith("──"):
                line = f"✉ {self._clock.now().strftime('%H:%M')} {line}"
            self._echo(line)
        return len(text)

    def flush(self) -> None:
        pass


def _import_registry(sessions, path: Path, *, now: datetime, echo: Callable[[str], None]) -> None:
    report = import_path(sessions, path, now=now, options=ImportOptions(), actor="demo")
    if report.errors:
        raise DeadlineWatchError(
            f"示例台账导入失败: {report.errors[0]}", f"the sample registry did not import: {report.errors[0]}"
        )
    summary = report.to_dict()
    echo(f"导入 imported: { {key: value for key, value in summary.items() if isinstance(value, int)} }")


def _add_supervisor(sessions, password: str, *, now: datetime, echo: Callable[[str], None]) -> None:
    with db.transaction(sessions) as session:
        add_user(
            session,
            username=DEMO_SUPERVISOR,
            role="supervisor",
            password=password,
            mobile=DEMO_SUPERVISOR_MOBILE,
            now=now,
        )


def _complete_one(sessions, now: datetime, tz: ZoneInfo, echo: Callable[[str], None]) -> bool:
    """Show a late completion: the most overdue open item is marked done."""
    from deadline_watch.board.completion import complete_milestone
    from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations

    with db.transaction(sessions) as session:
        rows, _ = list_escalations(session, EscalationFilter(), today=local_date(now, tz), tz=tz, limit=1)
        if not rows:
            return False
        row = rows[0]
        result = complete_milestone(
            session, row.project_code, row.milestone, on=now.date(), evidence="演示: 验收报告.pdf", now=now, actor="demo"
        )
    echo(
        f"✔ {row.project_code} {row.milestone} 逾期完成 completed late; 督办结案 resolved {result.escalations_resolved}, "
        f"取消待发短信 cancelled {result.notifications_cancelled}"
    )
    return True


def _echo_event(event: EscalationEvent, now: datetime, echo: Callable[[str], None]) -> None:
    label = {"opened": "新增督办 opened", "raised": "督办升级 raised", "resolved": "督办结案 resolved",
             "reopened": "重新督办 reopened"}[event.action]
    extra = f" ({event.resolution})" if event.resolution else ""
    echo(
        f"⚑ {now.strftime('%H:%M')} {label}: {event.project_code} {event.project_name} · {event.milestone} "
        f"截止 {event.due_date.isoformat()} → 级别 level {event.level}{extra}"
    )


def _serve(app: AppContext, port: int, password: str, echo: Callable[[str], None]) -> None:
    from deadline_watch.web.server import serve  # the web stack loads only when the demo serves

    echo("")
    echo(f"督办看板 board: http://127.0.0.1:{port}/  账号 login: {DEMO_SUPERVISOR}  密码 password: {password}")
    echo("按 Ctrl+C 退出 / press Ctrl+C to stop")
    serve(app, "127.0.0.1", port)
