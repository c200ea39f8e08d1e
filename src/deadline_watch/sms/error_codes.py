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
        "21609",  # StatusCallback is not a valid URL (our configuration: fix web.public_url)
        "21705",  # MessagingServiceSid does not match MG + 32 hex digits
        "30004",  # message blocked
        "30005",  # unknown destination handset
        "30006",  # landline or unreachable carrier
    }
)
# Account-level refusals: nothing is wrong with the message, everything is wrong with us.
AUTH_CODES = frozenset({"20003", "20005"})
TRANSIENT_CODES = frozenset({"20429", "20500", "20503", "30001", "30003", "30008"})  # 30001: queue overflow

# Delivery failures Twilio describes as possibly temporary (a handset off or out of
# coverage, an unknown carrier error, a missing segment, congestion, a sender's rate
# limit): an `undelivered`/`failed` status callback with one of these puts the message
# back in the queue, at most MAX_DELIVERY_RETRIES times, before the official is
# marked unreachable on the board.
DELIVERY_RETRY_CODES = frozenset(
    {
        "30003",  # unreachable destination handset (switched off, out of coverage)
        "30008",  # unknown error from the carrier
        "30009",  # missing segment
        "30017",  # carrier network congestion
        "30022",  # sender rate limit exceeded
    }
)
MAX_DELIVERY_RETRIES = 3
DELIVERY_RETRY_MINUTES = 20  # the n-th retry waits n times this


def delivery_retry_due(code: str | None, attempts: int) -> bool:
    """Whether an undelivered/failed callback with `code` re-queues a message sent `attempts` times."""
    return code in DELIVERY_RETRY_CODES and attempts <= MAX_DELIVERY_RETRIES

# Alibaba Cloud SMS (Dysmsapi) codes: SendSms answers isv.* in an HTTP 200 body, the API
# gateway answers the others with an HTTP error status.
# https://help.aliyun.com/zh/sms/developer-reference/api-error-codes
ALIYUN_TRANSIENT_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # the per-number minute/hour/day send limit
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "Throttling.Tps",
        "ServiceUnavailable",
        "InternalError",
        "isp.SYSTEM_ERROR",
    }
)
ALIYUN_PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",  # not a valid mainland mobile
        "isv.BLACK_KEY_CONTROL_LIMIT",  # the text hit the carriers' keyword blacklist
        "isv.DAY_LIMIT_CONTROL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.PARAM_LENGTH_LIMIT",  # a variable longer than the template allows
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.INVALID_PARAMETERS",
        "isv.OUT_OF_SERVICE_MOBILE",
        "MissingPhoneNumbers",
        "no_template_params",  # our own: a row queued before template variables were recorded
        "not_mainland_mobile",  # our own: Aliyun domestic SMS only reaches 11-digit mainland mobiles
    }
)
# Account-level: stop the pass and keep the queue, as for Twilio's 20003.
ALIYUN_ACCOUNT_CODES = frozenset(
    {
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "isv.OUT_OF_SERVICE",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.PRODUCT_UNSUBSCRIBE",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "Forbidden.RAM",
        "isp.RAM_PERMISSION_DENY",  # the RAM user may not call SendSms
        "template_not_configured",  # our own: no [sms.aliyun] template code for the row's kind
    }
)


class ErrorClass(StrEnum):
    TRANSIENT = "transient"  # try again later with backoff
    PERMANENT = "permanent"  # fail this message, never retry, tell the board
    AUTH = "auth"  # stop the whole pass, release the queue untouched


def classify(error: SmsError) -> ErrorClass:
    """Provider code first (Twilio or Aliyun), then HTTP status, then the backend's own permanent flag."""
    code = str(error.code) if error.code is not None else None
    if code in AUTH_CODES or code in ALIYUN_ACCOUNT_CODES or error.http_status == 401:
        return ErrorClass.AUTH
    if code in TRANSIENT_CODES or code in ALIYUN_TRANSIENT_CODES:
        return ErrorClass.TRANSIENT
    if code in PERMANENT_CODES or code in ALIYUN_PERMANENT_CODES:
        return ErrorClass.PERMANENT
    if error.http_status is not None and (error.http_status == 429 or error.http_status >= 500):
        return ErrorClass.TRANSIENT
    return ErrorClass.PERMANENT if error.permanent else ErrorClass.TRANSIENT
