"""The application context shared by the CLI, the daemon and the web app.

It owns the settings, the clock and the (lazily created) engine, so every edge wires
the core the same way and tests can hand in their own clock and engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core import db
from deadline_watch.core.clock import Clock, SystemClock
from deadline_watch.core.config import Settings


@dataclass
class AppContext:
    settings: Settings
    clock: Clock | None = None
    engine_override: Engine | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = SystemClock(self.settings.tz)

    @cached_property
    def engine(self) -> Engine:
        return self.engine_override or db.make_engine(self.settings.database.url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.session_factory(self.engine)

    def checked_sessions(self) -> sessionmaker[Session]:
        """The session factory, after refusing a database whose schema is not at head."""
        db.require_head(self.engine)
        return self.sessions

    def now(self):
        assert self.clock is not None
        return self.clock.now()
