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

from sqlalchemy import select

from deadline_watch.board.users import add_user
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock, SystemClock, local_date
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import configure_logging
from deadline_watch.core.secret_key import load_secret_key
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


def demo_settings(base: Settings, directory: Path, port: int = 8000) -> Settings:
    """The demo's database, console SMS, and `public_url` = the local board, so the SMS carry
    officials' links that open on this machine (signed with a key kept in the folder)."""
    key = base.web.secret_key or load_secret_key(None, directory / "deadline-watch-secret.key")
    return base.model_copy(
        update={
            "database": base.database.model_copy(update={"url": f"sqlite:///{(directory / 'deadline-watch.db').resolve()}"}),
            "sms": base.sms.model_copy(update={"backend": "console", "rate_per_second": 1000.0}),
            "reports": base.reports.model_copy(update={"dir": directory / "reports"}),
            "web": base.web.model_copy(update={"public_url": f"http://127.0.0.1:{port}", "secret_key": key}),
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
    directory = directory.resolve()
    settings = demo_settings(base_settings, directory, port)
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
    official_request: int | None = None
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
        if offset == min(4, days) and official_request is None:
            official_request = _official_reports(sessions, settings, clock.now(), echo)
        if offset == min(5, days) and official_request is not None:
            _supervisor_approves(sessions, official_request, clock.now(), echo)

    with db.transaction(sessions) as session:
        rows, total = list_escalations(session, EscalationFilter(), today=real_today, tz=tz, limit=100)
    echo("")
    echo(f"════ 督办台 escalation board as of {real_today.isoformat()}: {total} 项 open ════")
    from deadline_watch.cli.printing import print_escalations

    print_escalations(rows, total, echo=echo)
    live = AppContext(settings=settings, clock=SystemClock(tz))
    official_link = _official_link(live, echo)
    if serve:
        _serve(live, port, password, echo, official_link)
    else:
        echo("")
        echo(f"看板账号 board login: {DEMO_SUPERVISOR} / {password} (deadline-watch --db {settings.database.url} board)")
        if official_link:
            echo(f"责任人链接 official's link: {official_link}")
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
            display_name="张督查",
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


def demo_photo() -> bytes:
    """A small real PNG (a red 96×64 picture) standing in for a site photo."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    width, height = 96, 64
    raw = b"".join(b"\x00" + b"\xb9\x1c\x1c" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _official_reports(sessions, settings: Settings, now: datetime, echo: Callable[[str], None]) -> int | None:
    """An official reports completion from their phone, with a site photo: 待审核."""
    from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
    from deadline_watch.domain.models import Milestone, Project, responsible_person_id
    from deadline_watch.officials.evidence import EvidenceUpload
    from deadline_watch.officials.requests import request_completion

    with db.transaction(sessions) as session:
        rows, _ = list_escalations(session, EscalationFilter(), today=local_date(now, settings.tz), tz=settings.tz, limit=1)
        if not rows:
            return None
        row = rows[0]
        person_id = session.scalar(
            select(responsible_person_id()).select_from(Milestone).join(Project, Project.id == Milestone.project_id)
            .where(Milestone.id == row.milestone_id)
        )
        submitted = request_completion(
            session, person_id, row.milestone_id, completed_on=local_date(now, settings.tz), note="已完工,附现场照片",
            files=[EvidenceUpload("现场照片.png", demo_photo())], settings=settings, now=now,
            today=local_date(now, settings.tz),
        )
    echo(f"📱 {now.strftime('%H:%M')} 责任人 {row.owner} 手机申报完成 official reports completion with a photo: "
         f"{row.project_code} {row.milestone} → 待审核 pending review")
    return submitted.request_id


def _supervisor_approves(sessions, request_id: int, now: datetime, echo: Callable[[str], None]) -> None:
    from deadline_watch.board.reviews import approve
    from deadline_watch.domain.models import User

    with db.transaction(sessions) as session:
        reviewer = session.scalars(select(User).where(User.username == DEMO_SUPERVISOR)).one()
        request = approve(session, request_id, reviewer=reviewer, now=now)
        reported = request.reported_completed_on
    echo(f"✔ {now.strftime('%H:%M')} 督办员 {DEMO_SUPERVISOR} 审核通过 approved request #{request_id}: "
         f"节点按申报日期 {reported} 完成 completed on the reported date")


def _official_link(app: AppContext, echo: Callable[[str], None]) -> str | None:
    """A working link of the official of the most overdue open item (to try the phone page)."""
    from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
    from deadline_watch.officials.links import fresh_link

    with db.transaction(app.sessions) as session:
        rows, _ = list_escalations(session, EscalationFilter(), today=local_date(app.now(), app.settings.tz), tz=app.settings.tz, limit=20)
        mobile = next((row.owner_mobile for row in rows if row.owner_mobile), None)
        if mobile is None:
            return None
        return fresh_link(session, mobile, app.settings, now=app.now())


def _echo_event(event: EscalationEvent, now: datetime, echo: Callable[[str], None]) -> None:
    label = {"opened": "新增督办 opened", "raised": "督办升级 raised", "resolved": "督办结案 resolved",
             "reopened": "重新督办 reopened"}[event.action]
    extra = f" ({event.resolution})" if event.resolution else ""
    echo(
        f"⚑ {now.strftime('%H:%M')} {label}: {event.project_code} {event.project_name} · {event.milestone} "
        f"截止 {event.due_date.isoformat()} → 级别 level {event.level}{extra}"
    )


def _serve(app: AppContext, port: int, password: str, echo: Callable[[str], None], official_link: str | None) -> None:
    from deadline_watch.web.server import serve  # the web stack loads only when the demo serves

    echo("")
    echo(f"督办看板 board: http://127.0.0.1:{port}/  账号 login: {DEMO_SUPERVISOR}  密码 password: {password}")
    if official_link:
        echo(f"责任人手机页 official's page (open on a phone-sized window): {official_link}")
    echo("按 Ctrl+C 退出 / press Ctrl+C to stop")
    serve(app, "127.0.0.1", port)
