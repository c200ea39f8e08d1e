"""A local Twilio-compatible HTTP server for development, tests and benchmarks.

`FakeTwilio` (server.py) holds the knobs and what was received; handler.py speaks HTTP,
resources.py renders Twilio's JSON, scripted.py the scripted answers and error codes,
callbacks.py the signed webhooks it posts, records.py the received messages.
"""

from deadline_watch.fakes.twilio.records import FakeMessage, load_recorded, max_in_window, new_sid
from deadline_watch.fakes.twilio.resources import API_VERSION
from deadline_watch.fakes.twilio.scripted import ERRORS, OK, Scripted, error_status
from deadline_watch.fakes.twilio.server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_FROM_NUMBER,
    FakeTwilio,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_FROM_NUMBER",
    "ERRORS",
    "OK",
    "FakeMessage",
    "FakeTwilio",
    "Scripted",
    "error_status",
    "load_recorded",
    "max_in_window",
    "new_sid",
]
