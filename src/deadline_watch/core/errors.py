"""User-facing error types. Each carries a bilingual message and the exit code the CLI returns.

The CLI and the web layer catch `DeadlineWatchError` once and show `str(err)`; nothing
below them formats errors for people.
"""

from __future__ import annotations


class DeadlineWatchError(Exception):
    """Base of every error meant for a person rather than a traceback."""

    exit_code = 1

    def __init__(self, message_zh: str, message_en: str | None = None) -> None:
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.message_en == self.message_zh:
            return self.message_zh
        return f"{self.message_zh} / {self.message_en}"


class ConfigError(DeadlineWatchError):
    """The configuration file or environment is unusable."""

    exit_code = 2


class SchemaError(DeadlineWatchError):
    """The database is unreachable or its schema is not at the migrations' head."""

    exit_code = 3


class ClockError(DeadlineWatchError):
    """`now` is earlier than the last recorded scan: time only goes forward."""

    exit_code = 2


class DatabaseError(DeadlineWatchError):
    """The database failed underneath a command (read-only, disk full, file gone, unreachable)."""

    exit_code = 3


class RegistryError(DeadlineWatchError):
    """A registry file cannot be imported (the report lists each problem)."""

    exit_code = 1


class NotFoundError(DeadlineWatchError):
    """A project, milestone, escalation or user named on the command line does not exist."""

    exit_code = 1


class SmsError(Exception):
    """A backend failed to hand a message over. `permanent` decides retry versus fail."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.http_status = http_status
