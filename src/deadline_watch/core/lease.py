"""Leader leases: one holder at a time per job name across every process on one database.

PostgreSQL: a session-level advisory lock on a dedicated connection, keyed by the schema
and the job name; the server frees it the moment the holder's connection ends (a killed
process), so another process takes over on its next try. SQLite (one machine): an
exclusive `flock` on a file beside the database, freed by the kernel when the holder dies.
An in-memory SQLite database has one process by definition: the lease always succeeds.

The lease row in `watch_state` (`lease:<name>`) records the last holder: a process that
takes the delivery lease over from another waits one second before its first send, so
the two processes' sends never share a one-second window beyond the rate cap.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def holder_id() -> str:
    """This process, as other processes see it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    """`acquire()` then `release()`, or `with Lease(...) as held:` (held is a bool)."""

    def __init__(self, engine: Engine, name: str, *, wait_seconds: float = 0.0, poll_seconds: float = 0.2) -> None:
        self.engine = engine
        self.name = name
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.held = False
        self._connection: Connection | None = None
        self._file: Any = None

    # -------------------------------------------------------------- public

    def acquire(self) -> bool:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self._try():
                self.held = True
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(self.poll_seconds)

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("select pg_advisory_unlock(hashtext(current_schema() || ':' || :name))"),
                                         {"name": self.name})
                self._connection.commit()
                self._connection.close()
            except Exception:  # noqa: BLE001 - drop the connection itself: the server frees the lock
                self._connection.invalidate()
                self._connection.close()
            finally:
                self._connection = None
        if self._file is not None:
            try:
                fcntl.flock(self._file, fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None
        self.held = False

    def still_held(self) -> bool:
        """The lease is still ours (PostgreSQL: its connection still answers)."""
        if not self.held:
            return False
        if self._connection is None:
            return True
        try:
            self._connection.execute(sa.text("select 1"))
            return True
        except Exception:  # noqa: BLE001 - a dead connection means the server freed the lock
            return False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()

    # -------------------------------------------------------------- backends

    def _try(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._try_postgresql()
        return self._try_file()

    def _try_postgresql(self) -> bool:
        connection = self.engine.connect()
        try:
            got = connection.execute(
                sa.text("select pg_try_advisory_lock(hashtext(current_schema() || ':' || :name))"), {"name": self.name}
            ).scalar()
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _try_file(self) -> bool:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True
        path = Path(f"{database}.{self.name}.lease")
        handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the lease
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True
