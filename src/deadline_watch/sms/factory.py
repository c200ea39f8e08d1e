"""Choose the SMS backend named by `sms.backend` (or DEADLINE_WATCH_SMS_BACKEND)."""

from __future__ import annotations

from typing import TextIO

from ..config import Settings
from ..errors import ConfigError
from .base import SmsBackend


def require_twilio_settings(settings: Settings) -> None:
    """Refuse to start with one clear line when Twilio credentials or a sender are missing."""
    twilio = settings.twilio
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", twilio.account_sid),
            ("TWILIO_AUTH_TOKEN", twilio.auth_token),
        )
        if not value
    ]
    if not (twilio.from_number or twilio.messaging_service_sid):
        missing.append("TWILIO_FROM_NUMBER 或/or TWILIO_MESSAGING_SERVICE_SID")
    if missing:
        names = ", ".join(missing)
        raise ConfigError(
            f"sms.backend = twilio 需要环境变量: {names}",
            f"sms.backend = twilio needs these environment variables: {names}",
        )


def make_backend(settings: Settings, *, stream: TextIO | None = None) -> SmsBackend:
    """The configured backend; `stream` is where the console backend prints (stdout if None)."""
    name = settings.sms.backend
    if name == "console":
        from .console import ConsoleBackend

        return ConsoleBackend(stream)
    if name == "file":
        from .file import FileBackend

        return FileBackend(settings.sms.file)
    if name == "twilio":
        require_twilio_settings(settings)
        # imported lazily: the twilio library is only loaded when it is used
        from .twilio_backend import twilio_backend_from_settings

        return twilio_backend_from_settings(settings)
    raise ConfigError(f"未知的短信通道: {name}", f"unknown sms.backend: {name}")  # pragma: no cover
