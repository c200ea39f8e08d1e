"""structlog configuration, set up once at start, with masking of mobiles and secrets.

Every log line passes `mask_sensitive`: E.164 and bare Chinese mobile numbers become
`+86138****8000`, and values under secret-looking keys are dropped.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog

_MOBILE = re.compile(r"(\+?\d{1,3})?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_SECRET_KEYS = re.compile(r"(token|secret|password|auth|sid|key)$", re.IGNORECASE)
_KEEP_KEYS = {"dedup_key", "event", "key"}


def mask_mobile(text: str) -> str:
    """`+8613800138000` -> `+86138****8000`; also masks bare 11-digit mobiles inside text."""

    def _mask(match: re.Match[str]) -> str:
        prefix = match.group(1) or ""
        return f"{prefix}{match.group(2)}****{match.group(4)}"

    return _MOBILE.sub(_mask, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_mobile(value)
    if isinstance(value, dict):
        return {key: _mask_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask_value(item) for item in value)
    return value


def mask_sensitive(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: drop secrets, mask mobile numbers everywhere else."""
    cleaned: dict[str, Any] = {}
    for key, value in event_dict.items():
        if key not in _KEEP_KEYS and _SECRET_KEYS.search(key):
            cleaned[key] = "[redacted]"
            continue
        cleaned[key] = _mask_value(value)
    return cleaned


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """JSON lines when not on a terminal (or when asked), readable lines on a terminal.

    Without an explicit `stream`, each log call writes to whatever `sys.stderr` is at that
    moment, so a replaced or closed stderr (test capture, a daemonised process) never
    leaves loggers pointing at a dead file.
    """
    factory: Any = structlog.PrintLoggerFactory(file=stream) if stream else _current_stderr
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_sensitive,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (alembic, uvicorn, apscheduler).
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _CurrentStderrHandler)]
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(max(logging.WARNING, getattr(logging, level.upper())))


class _CurrentStderrHandler(logging.StreamHandler):
    """A stdlib handler that, like the structlog loggers, writes to the stderr of the moment."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _current_stderr(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
