"""The console backend: prints each SMS for a person to read (development, demos, dry runs)."""

from __future__ import annotations

import itertools
import sys
import threading
from typing import TextIO

from deadline_watch.sms.base import OutgoingSms, SendResult


class ConsoleBackend:
    """Writes `to` and `body` of every message to a stream; nothing leaves the machine.

    It keeps no record, so after a crash it cannot tell whether a message was shown:
    it has no `find_sent`, and reconciliation re-sends (re-prints) such a message.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, message: OutgoingSms) -> SendResult:
        stream = self._stream or sys.stdout
        with self._lock:
            message_id = f"console-{next(self._numbers)}"
            stream.write(
                f"── SMS {message_id} → {message.to} "
                f"({message.kind} {message.project_code} {message.milestone} {message.due_date.isoformat()})\n"
                f"{message.body}\n"
            )
            stream.flush()
        return SendResult(provider_message_id=message_id)
