"""Choose the SMS backend named by `sms.backend` (or DEADLINE_WATCH_SMS_BACKEND)."""

from __future__ import annotations

from typing import TextIO

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.sms.base import SmsBackend


def make_backend(settings: Settings, *, stream: TextIO | None = None) -> SmsBackend:
    """The configured backend; `stream` is where the console backend prints (stdout if None)."""
    name = settings.sms.backend
    if name == "console":
        from deadline_watch.sms.console import ConsoleBackend

        return ConsoleBackend(stream)
    if name == "file":
        from deadline_watch.sms.file import FileBackend

        return FileBackend(settings.sms.file)
    if name == "twilio":
        # imported lazily: the twilio library is only loaded when it is used
        from deadline_watch.sms.twilio_backend import twilio_backend_from_settings

        return twilio_backend_from_settings(settings)
    if name == "aliyun":
        from deadline_watch.sms.aliyun_backend import aliyun_backend_from_settings

        return aliyun_backend_from_settings(settings)
    raise ConfigError(f"未知的短信通道: {name}", f"unknown sms.backend: {name}")  # pragma: no cover
