"""The daemon's clock guard: a wall clock that jumps is not acted on.

Between two jobs the wall clock must advance as much as the monotonic clock (CLOCK_BOOTTIME
on Linux, which keeps counting through a suspend) and, on PostgreSQL, keep its offset to
the database server's clock. A difference beyond `scheduler.max_clock_jump_seconds` holds
every job (scan, delivery, reports) until the clocks agree again or an operator runs
`deadline-watch watch confirm-clock`. A `now` earlier than the last recorded scan holds too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from deadline_watch.core.logs import get_logger


def boot_clock() -> float:
    """Seconds on a clock that never jumps and keeps counting while the machine sleeps."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(boottime) if boottime is not None else time.monotonic()


@dataclass
class ClockReading:
    wall: datetime  # the app's clock
    database: datetime | None  # the database server's clock (PostgreSQL), None on SQLite
    last_scan: datetime | None
    confirmations: int


@dataclass
class ClockGuard:
    bound_seconds: float
    monotonic: Callable[[], float] = boot_clock
    state: str = "ok"  # ok | forward_jump | backward_jump | database_clock | behind_last_scan
    detail: str = ""
    held_since: datetime | None = None
    _base: tuple[datetime, float] | None = field(default=None, repr=False)
    _database_offset: float | None = field(default=None, repr=False)
    _confirmations: int | None = field(default=None, repr=False)

    @property
    def held(self) -> bool:
        return self.state != "ok"

    def check(self, reading: ClockReading) -> bool:
        """True when the job may act at `reading.wall`; logs each change of state once."""
        mono = self.monotonic()
        offset = (reading.wall - reading.database).total_seconds() if reading.database is not None else None
        if self._confirmations is None:
            self._confirmations = reading.confirmations
        elif reading.confirmations != self._confirmations:
            # the operator accepts the clocks as they are now
            self._confirmations = reading.confirmations
            self._base = None
            self._database_offset = None
            get_logger().warning("clock.confirmed", wall=reading.wall.isoformat())
        if self._base is None:
            self._base = (reading.wall, mono)
        if self._database_offset is None and offset is not None:
            self._database_offset = offset
        state, detail = self._judge(reading, mono, offset)
        if state == "ok":
            self._base = (reading.wall, mono)  # the clocks agree: move the baseline along
        self._transition(state, detail, reading.wall)
        return state == "ok"

    def _judge(self, reading: ClockReading, mono: float, offset: float | None) -> tuple[str, str]:
        assert self._base is not None
        if reading.last_scan is not None and reading.wall < reading.last_scan:
            return "behind_last_scan", (
                f"时钟早于上次扫描 {reading.last_scan.isoformat()} / now {reading.wall.isoformat()} "
                f"is earlier than the last scan {reading.last_scan.isoformat()}"
            )
        base_wall, base_mono = self._base
        drift = (reading.wall - base_wall).total_seconds() - (mono - base_mono)
        if drift > self.bound_seconds:
            return "forward_jump", (
                f"墙上时钟向前跳变 {drift:.0f} 秒 / wall clock jumped {drift:.0f} s ahead of the monotonic clock"
            )
        if drift < -self.bound_seconds:
            return "backward_jump", (
                f"墙上时钟向后跳变 {-drift:.0f} 秒 / wall clock jumped {-drift:.0f} s back against the monotonic clock"
            )
        if offset is not None and self._database_offset is not None:
            moved = offset - self._database_offset
            if abs(moved) > self.bound_seconds:
                return "database_clock", (
                    f"本机时钟与数据库时钟相差变化 {moved:.0f} 秒 / the wall clock moved {moved:.0f} s "
                    "against the database server's clock"
                )
        return "ok", ""

    def _transition(self, state: str, detail: str, wall: datetime) -> None:
        log = get_logger()
        if state == self.state:
            return
        if state == "ok":
            log.warning("clock.resumed", previous=self.state, wall=wall.isoformat())
            self.held_since = None
        else:
            log.error(
                "clock.held", state=state, detail=detail, wall=wall.isoformat(),
                action="nothing is planned or sent until the clocks agree or `deadline-watch watch confirm-clock`",
            )
            self.held_since = wall
        self.state, self.detail = state, detail
