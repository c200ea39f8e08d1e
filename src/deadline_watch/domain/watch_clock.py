"""The watch's time as rows every process agrees on: the last scan's instant (time only
goes forward), operator confirmations of a clock jump, and the daemons' clock holds.

A scan whose `now` is earlier than the last recorded scan plans and sends nothing
(`ClockError`); `watch rewind` is the only way back.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.errors import ClockError
from deadline_watch.domain.models import WatchState

LAST_SCAN = "last_scan_at"
CONFIRMATIONS = "clock_confirmations"
HOLD_PREFIX = "clock_hold:"


def _ensure(session: Session, name: str, *, now: datetime) -> None:
    db.insert_ignore(
        session,
        WatchState.__table__,
        [{"name": name, "instant": None, "counter": 0, "detail": "", "updated_at": now}],
        "name",
    )


def last_scan_at(session: Session) -> datetime | None:
    return session.scalar(sa.select(WatchState.instant).where(WatchState.name == LAST_SCAN))


def behind_last_scan(last: datetime | None, now: datetime) -> bool:
    return last is not None and now < last


def clock_error(last: datetime, now: datetime) -> ClockError:
    return ClockError(
        f"时钟倒退: 当前时间 {now.isoformat()} 早于上次扫描 {last.isoformat()},本次不提醒、不发送"
        "(确属有意请加 --force;撤销误跳请用 `deadline-watch watch rewind --to 时间`)",
        f"clock went backward: now {now.isoformat()} is earlier than the last scan {last.isoformat()}; "
        "nothing planned or sent (use --force if intended; undo a wrong jump with "
        "`deadline-watch watch rewind --to INSTANT`)",
    )


def require_forward(session: Session, now: datetime) -> None:
    """Refuse a `now` earlier than the last recorded scan."""
    last = last_scan_at(session)
    if last is not None and behind_last_scan(last, now):
        raise clock_error(last, now)


def record_scan(session: Session, now: datetime) -> None:
    """last_scan_at := max(last_scan_at, now), as a compare-and-set (concurrent scans agree)."""
    _ensure(session, LAST_SCAN, now=now)
    session.execute(
        sa.update(WatchState)
        .where(WatchState.name == LAST_SCAN, sa.or_(WatchState.instant.is_(None), WatchState.instant < now))
        .values(instant=now, updated_at=now)
    )


def reset_last_scan(session: Session, instant: datetime, *, now: datetime) -> datetime | None:
    """Set the last scan back to `instant` (rewind); returns the previous value."""
    previous = last_scan_at(session)
    _ensure(session, LAST_SCAN, now=now)
    session.execute(
        sa.update(WatchState).where(WatchState.name == LAST_SCAN).values(instant=instant, updated_at=now)
    )
    return previous


def confirmations(session: Session) -> int:
    return session.scalar(sa.select(WatchState.counter).where(WatchState.name == CONFIRMATIONS)) or 0


def confirm_clock(session: Session, *, now: datetime, actor: str) -> int:
    """An operator accepts the clocks as they are now; returns the new confirmation number."""
    _ensure(session, CONFIRMATIONS, now=now)
    session.execute(
        sa.update(WatchState)
        .where(WatchState.name == CONFIRMATIONS)
        .values(counter=WatchState.counter + 1, instant=now, detail=actor, updated_at=now)
    )
    return confirmations(session)


def record_hold(session: Session, daemon_id: str, detail: str, *, now: datetime) -> None:
    """A daemon's clock hold ("" when it acts again), shown on the board's /healthz."""
    name = (HOLD_PREFIX + daemon_id)[:64]
    _ensure(session, name, now=now)
    session.execute(sa.update(WatchState).where(WatchState.name == name).values(detail=detail, updated_at=now))


def holds(session: Session, *, since: datetime | None = None) -> dict[str, str]:
    """Daemons holding now; with `since`, only holds refreshed since then (a held daemon
    refreshes its row on every job, so a daemon that died while held drops out)."""
    statement = sa.select(WatchState.name, WatchState.detail).where(
        WatchState.name.like(HOLD_PREFIX + "%"), WatchState.detail != ""
    )
    if since is not None:
        statement = statement.where(WatchState.updated_at >= since)
    rows = session.execute(statement).all()
    return {name.removeprefix(HOLD_PREFIX): detail for name, detail in rows}


def take_lease_record(session: Session, name: str, holder: str, *, now: datetime) -> str:
    """Record `holder` as the holder of lease `name`; returns the previous holder ("" if none)."""
    row_name = f"lease:{name}"[:64]
    _ensure(session, row_name, now=now)
    previous = session.scalar(sa.select(WatchState.detail).where(WatchState.name == row_name)) or ""
    if previous != holder:
        session.execute(
            sa.update(WatchState).where(WatchState.name == row_name).values(detail=holder, instant=now, updated_at=now)
        )
    return previous
