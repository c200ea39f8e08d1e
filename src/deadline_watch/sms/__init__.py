"""SMS transport: the backend protocol and its console, file and Twilio implementations."""

from deadline_watch.sms.base import OutgoingSms, SendResult, SmsBackend

__all__ = ["OutgoingSms", "SendResult", "SmsBackend"]
