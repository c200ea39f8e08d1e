"""Scripted answers of the fake Twilio: the error codes it can produce and one scripted reply."""

from __future__ import annotations

from dataclasses import dataclass

# Twilio error codes the fake can produce: (HTTP status, message)
ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21602: (400, "Message body is required."),
    21603: (400, "The 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21609: (400, "Invalid 'StatusCallback'"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21705: (400, "The Messaging Service is invalid"),
}
_DEFAULT_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


def error_status(code: int) -> int:
    """The HTTP status Twilio answers with for an error code (400 for unknown 2xxxx codes)."""
    return ERRORS.get(code, (400, ""))[0]


@dataclass(frozen=True)
class Scripted:
    """One scripted answer to the next request.

    `status` 2xx accepts the message; otherwise the reply is an error with `code` (a
    default per status when None). `delay` seconds pass before answering (after the
    message is recorded, so a client timeout leaves it ambiguous, as with Twilio).
    `drop` closes the connection without any answer. `accept` overrides whether the
    message is recorded (e.g. accepted but the reply is a 500 or is dropped).
    """

    status: int = 201
    code: int | None = None
    delay: float = 0.0
    drop: bool = False
    accept: bool | None = None

    @property
    def accepts(self) -> bool:
        return self.accept if self.accept is not None else (self.status < 400)

    @property
    def error_code(self) -> int | None:
        if self.status < 400:
            return None
        return self.code if self.code is not None else _DEFAULT_CODE_FOR_STATUS.get(self.status, self.status)


OK = Scripted()


def as_step(step: Scripted | int) -> Scripted:
    """`Scripted` as is; an int of five digits is a Twilio error code, a smaller one an HTTP status."""
    if isinstance(step, Scripted):
        return step
    if isinstance(step, int) and step >= 10000:  # a Twilio error code
        return Scripted(status=error_status(step), code=step)
    return Scripted(status=int(step))
