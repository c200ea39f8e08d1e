"""The one table of provider error codes: what each means for a message (retry, give up, stop).

Transport-level facts about the providers, so backends and delivery read the same table;
the retry *policy* (when to try again) is `delivery.retry`.
"""

from __future__ import annotations

from enum import StrEnum

from deadline_watch.core.errors import SmsError

OPTED_OUT_CODE = "21610"  # Twilio: the recipient replied STOP; the number is opted out

# Twilio error codes that no retry can fix: the message (or recipient) is the problem.
PERMANENT_CODES = frozenset(
    {
        "20404",  # resource not found (e.g. a messaging service that does not exist)
        "21211",  # invalid To number
        "21408",  # permission to send to this region not enabled
        "21606",  # the From number cannot send SMS
        OPTED_OUT_CODE,  # recipient replied STOP (unsubscribed)
        "21612",  # To number not reachable from this sender
        "21614",  # To number is not a mobile
        "21617",  # body exceeds the concatenated length limit
        "30003",  # unreachable handset
        "30004",  # message blocked
        "30005",  # unknown destination handset
        "30006",  # landline or unreachable carrier
    }
)
# Account-level refusals: nothing is wrong with the message, everything is wrong with us.
AUTH_CODES = frozenset({"20003", "20005"})
TRANSIENT_CODES = frozenset({"20429", "20500", "20503", "30001"})  # 30001: queue overflow


class ErrorClass(StrEnum):
    TRANSIENT = "transient"  # try again later with backoff
    PERMANENT = "permanent"  # fail this message, never retry, tell the board
    AUTH = "auth"  # stop the whole pass, release the queue untouched


def classify(error: SmsError) -> ErrorClass:
    """Twilio code first, then HTTP status, then the backend's own permanent flag."""
    code = str(error.code) if error.code is not None else None
    if code in AUTH_CODES or error.http_status == 401:
        return ErrorClass.AUTH
    if code in TRANSIENT_CODES:
        return ErrorClass.TRANSIENT
    if code in PERMANENT_CODES:
        return ErrorClass.PERMANENT
    if error.http_status is not None and (error.http_status == 429 or error.http_status >= 500):
        return ErrorClass.TRANSIENT
    return ErrorClass.PERMANENT if error.permanent else ErrorClass.TRANSIENT
