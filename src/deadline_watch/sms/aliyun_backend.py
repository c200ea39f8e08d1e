"""The Alibaba Cloud SMS backend (Dysmsapi 2017-05-25) through the official SDK.

Sends an approved template (`[sms.aliyun] templates`) with the row's template variables,
`OutId` = the outbox row's id, so every provider record points back to one intent. A row
carrying the official's link goes out as the kind's `*_link` template, whose approved text
holds the link prefix, with only the token as a variable.
`find_sent` matches that OutId in QuerySendDetails (crash reconciliation), and
`delivery_status` reads one message's receipt for the polling in delivery/receipt_poll.py.
Only transport lives here; retry policy is dispatch's, error classes are sms.error_codes'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525 import models as dysms
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_models
from darabonba.exceptions import ResponseException
from darabonba.runtime import RuntimeOptions

from deadline_watch.core.clock import Clock, SystemClock
from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError, SmsError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain.links import link_prefix
from deadline_watch.sms.aliyun_templates import (
    OFFICIALS_KINDS,
    TEMPLATE_TEXTS,
    kind_of,
    link_kinds,
    template_text,
    variables,
)
from deadline_watch.sms.base import OutgoingSms, SendResult
from deadline_watch.sms.messages import VARIABLE_LIMIT

ENDPOINT = "dysmsapi.aliyuncs.com"
# Aliyun's dates (SendDate in and out) are Beijing time.
PROVIDER_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_TIMEOUT_SECONDS = 10.0
PAGE_SIZE = 50  # QuerySendDetails allows 1-50
LOOKBACK_DAYS = 30  # QuerySendDetails only keeps the last 30 days
MAX_PAGES = 20  # 1000 messages to one number in one day is more than any intent needs

# QuerySendDetails SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered
WAITING, FAILED, DELIVERED = 1, 2, 3

# provider_message_id of a message found by reconciliation (its BizId is not retrievable)
OUT_ID_PREFIX = "outid:"

# Codes given to failures that never reached an answer (as in the Twilio backend).
CONNECTION_ERROR = "connection"
READ_TIMEOUT = "read_timeout"
BAD_REPLY = "bad_reply"


def mainland_number(e164: str) -> str | None:
    """`+8613800138000` -> `13800138000`; None for anything that is not a mainland mobile."""
    digits = e164.strip()
    if digits.startswith("+86"):
        digits = digits[3:]
    if len(digits) == 11 and digits.isdigit() and digits.startswith("1"):
        return digits
    return None


def required_kinds(settings: Settings) -> list[str]:
    """Every message kind this configuration can send, each needing a template code."""
    kinds = ["reminder"]
    for level in settings.escalation.levels:
        for party in level.notify:
            kind = kind_of(f"escalation_{party}")
            if kind not in kinds:
                kinds.append(kind)
    if settings.web.public_url:  # the messages then carry the officials' links
        kinds.extend(link_kinds(kinds))
        kinds.extend(OFFICIALS_KINDS)
    return kinds


def texts_to_file(settings: Settings) -> list[tuple[str, str]]:
    """(kind, text) of every template this configuration needs approved, the link prefix
    (`<web.public_url>/m/`) written into the `*_link` texts."""
    prefix = link_prefix(settings.web.public_url) if settings.web.public_url else None
    return [(kind, template_text(kind, prefix)) for kind in required_kinds(settings)]


def require_aliyun_settings(settings: Settings) -> None:
    """Refuse to start with one clear line naming what is missing (exit 2 at the CLI)."""
    section = settings.sms.aliyun
    missing_env = [
        name
        for name, value in (
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", settings.aliyun.access_key_id),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", settings.aliyun.access_key_secret),
        )
        if not value
    ]
    if missing_env:
        names = ", ".join(missing_env)
        raise ConfigError(
            f"sms.backend = aliyun 需要环境变量: {names}",
            f"sms.backend = aliyun needs these environment variables: {names}",
        )
    if not section.sign_name:
        raise ConfigError(
            "sms.backend = aliyun 需要 [sms.aliyun] sign_name (已备案的短信签名)",
            "sms.backend = aliyun needs [sms.aliyun] sign_name (the registered SMS signature)",
        )
    missing = [kind for kind in required_kinds(settings) if not section.templates.get(kind)]
    if missing:
        names = ", ".join(missing)
        raise ConfigError(
            f"[sms.aliyun] templates 缺少这些短信类型的模板编号: {names}",
            f"[sms.aliyun] templates has no template code for these message kinds: {names}",
        )
    contact = settings.sms.contact
    if not contact:
        raise ConfigError(
            "sms.backend = aliyun 需要 sms.contact (已备案模板中的联系方式,如 \"督查室 028-12345678\")",
            "sms.backend = aliyun needs sms.contact (the approved templates carry it, e.g. \"督查室 028-12345678\")",
        )
    if len(contact) > VARIABLE_LIMIT:
        raise ConfigError(
            f"sms.contact 超过 {VARIABLE_LIMIT} 个字符 (阿里云模板变量上限)",
            f"sms.contact is longer than {VARIABLE_LIMIT} characters (Aliyun's limit for a template variable)",
        )
    base_url = settings.aliyun.base_url
    if base_url and urlsplit(base_url).scheme not in ("http", "https"):
        raise ConfigError(
            f"DEADLINE_WATCH_ALIYUN_BASE_URL 必须以 http:// 或 https:// 开头: {base_url}",
            f"DEADLINE_WATCH_ALIYUN_BASE_URL must start with http:// or https://: {base_url}",
        )


class AliyunBackend:
    """`SmsBackend` over the official Dysmsapi client; also `find_sent` and `delivery_status`."""

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: Mapping[str, str],
        region: str = "cn-hangzhou",
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        pool_size: int = 32,
        clock: Clock | None = None,
        public_url: str | None = None,
    ) -> None:
        config = open_api_models.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            region_id=region,
            endpoint=ENDPOINT,
            read_timeout=int(timeout * 1000),
            connect_timeout=int(min(timeout, 5.0) * 1000),
            max_idle_conns=pool_size,
        )
        if base_url:
            target = urlsplit(base_url)
            config.endpoint = target.netloc
            config.protocol = target.scheme
        self.client = Client(config)
        self.sign_name = sign_name
        self.templates = dict(templates)
        # the prefix the approved `*_link` texts hold; None: no link templates
        self.link_prefix = link_prefix(public_url) if public_url else None
        self.clock = clock or SystemClock(PROVIDER_TZ)
        self.runtime = RuntimeOptions()

    # ------------------------------------------------------------ send

    def send(self, message: OutgoingSms) -> SendResult:
        """SendSms for one outbox row; raise `SmsError` carrying the provider's code."""
        number = mainland_number(message.to)
        if number is None:
            raise SmsError(
                mask_mobile(f"aliyun: {message.to} is not a mainland mobile"), permanent=True, code="not_mainland_mobile"
            )
        if message.template is None or message.template_params is None:
            raise SmsError(
                "aliyun: the row has no template variables (queued before they were recorded)",
                permanent=True,
                code="no_template_params",
            )
        params = dict(message.template_params)
        token = self._token(params.pop("link", None))
        kind = kind_of(message.template, linked=token is not None)
        if token is not None:
            params["token"] = token
        if kind in TEMPLATE_TEXTS:  # exactly the variables the approved text names
            params = {name: params[name] for name in variables(kind) if name in params}
        template_code = self.templates.get(kind)
        if not template_code:
            raise SmsError(
                f"aliyun: no template code for message kind {kind!r} in [sms.aliyun] templates",
                permanent=False,
                code="template_not_configured",
            )
        request = dysms.SendSmsRequest(
            phone_numbers=number,
            sign_name=self.sign_name,
            template_code=template_code,
            template_param=json.dumps(params, ensure_ascii=False),
            out_id=str(message.notification_id) if message.notification_id is not None else None,
        )
        with classified_errors():
            body = self.client.send_sms_with_options(request, self.runtime).body
        _raise_unless_ok(body.code, body.message, body.request_id)
        if not body.biz_id:
            raise SmsError("aliyun: SendSms answered OK without a BizId", permanent=False, code=BAD_REPLY)
        return SendResult(provider_message_id=body.biz_id)

    def _token(self, link: str | None) -> str | None:
        """The token of a link under the approved prefix; None without a link, or for a link
        under another prefix (`web.public_url` changed since it was queued): such a row goes
        out as the plain template, with the contact instead of a link no template holds."""
        if not link or self.link_prefix is None or not link.startswith(self.link_prefix):
            return None
        return link[len(self.link_prefix) :] or None

    # ------------------------------------------------------------ reconciliation and receipts

    def find_sent(
        self, to: str, body: str, since: datetime, *, notification_id: int | None = None, until: datetime | None = None
    ) -> SendResult | None:
        """The BizId of the message with OutId = `notification_id` sent to `to` since `since`.

        QuerySendDetails is asked for each day from `since` to `until` (the delivery pass's
        now; the backend's clock without it), in Beijing time. Without a
        notification id there is nothing to match (Aliyun records the filled template, not our
        body): None. Raises `SmsError` when the provider cannot be asked.
        """
        number = mainland_number(to)
        if notification_id is None or number is None:
            return None
        wanted = str(notification_id)
        for day in self._days_between(since, until or self.clock.now()):
            for record in self._records(number, day):
                if record.out_id == wanted:
                    # QuerySendDetails does not echo the BizId: the row is identified by its OutId
                    return SendResult(provider_message_id=f"{OUT_ID_PREFIX}{wanted}")
        return None

    def delivery_status(
        self, to: str, provider_message_id: str, sent_at: datetime, *, notification_id: int
    ) -> tuple[str, str | None] | None:
        """("delivered" | "failed", error code) for one sent message, or None while it waits."""
        number = mainland_number(to)
        if number is None:
            return None
        day = sent_at.astimezone(PROVIDER_TZ).date()
        biz_id = None if provider_message_id.startswith(OUT_ID_PREFIX) else provider_message_id
        for record in self._records(number, day, biz_id=biz_id):
            if record.out_id != str(notification_id):
                continue
            if record.send_status == DELIVERED:
                return "delivered", record.err_code
            if record.send_status == FAILED:
                return "failed", record.err_code or "UNKNOWN"
        return None

    @staticmethod
    def _days_between(since: datetime, until: datetime) -> list[date]:
        """Beijing days from `since` to `until`, at most the provider's 30 days of records."""
        last = until.astimezone(PROVIDER_TZ).date()
        first = since.astimezone(PROVIDER_TZ).date()
        first = min(max(first, last - timedelta(days=LOOKBACK_DAYS - 1)), last)
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]

    def _records(self, number: str, day: date, *, biz_id: str | None = None) -> Iterator:
        for page in range(1, MAX_PAGES + 1):
            request = dysms.QuerySendDetailsRequest(
                phone_number=number,
                send_date=day.strftime("%Y%m%d"),
                page_size=PAGE_SIZE,
                current_page=page,
                biz_id=biz_id,
            )
            with classified_errors():
                body = self.client.query_send_details_with_options(request, self.runtime).body
            _raise_unless_ok(body.code, body.message, body.request_id)
            dtos = body.sms_send_detail_dtos
            records = (dtos.sms_send_detail_dto or []) if dtos is not None else []
            yield from records
            if len(records) < PAGE_SIZE or biz_id is not None:
                return


def _raise_unless_ok(code: str | None, message: str | None, request_id: str | None) -> None:
    """SendSms and QuerySendDetails answer business errors in an HTTP 200 body."""
    if code == "OK":
        return
    raise SmsError(
        mask_mobile(f"aliyun: {code}: {message or ''} (request {request_id or '-'})"),
        permanent=True,
        code=code or BAD_REPLY,
        http_status=200,
    )


class classified_errors:  # noqa: N801 - used as a context manager like the Twilio backend's
    """Re-raise what the SDK raised as an SmsError with the provider's code and HTTP status."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, traceback: object) -> bool:
        if exc is None or isinstance(exc, SmsError):
            return False
        if isinstance(exc, ResponseException):
            status = getattr(exc, "status_code", None)
            code = getattr(exc, "code", None) or None
            text = getattr(exc, "message", None) or str(exc)
            raise SmsError(
                mask_mobile(f"aliyun: HTTP {status} {code}: {text}"[:500]),
                permanent=status is not None and 400 <= status < 500 and status != 429,
                code=code,
                http_status=status,
            ) from exc
        if isinstance(exc, Exception):
            detail = str(getattr(exc, "message", None) or exc)
            inner = getattr(exc, "inner_exception", None)
            if inner is not None:
                detail = str(getattr(inner, "message", None) or inner)
            code = READ_TIMEOUT if "Read timed out" in detail or "ReadTimeout" in detail else CONNECTION_ERROR
            if isinstance(inner, ValueError) or isinstance(exc, ValueError):
                code = BAD_REPLY
            raise SmsError(mask_mobile(f"aliyun: {code}: {detail}"[:500]), permanent=False, code=code) from exc
        return False


def aliyun_backend_from_settings(
    settings: Settings, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, clock: Clock | None = None
) -> AliyunBackend:
    """The backend for `sms.backend = "aliyun"`; ConfigError naming what is missing."""
    require_aliyun_settings(settings)
    section = settings.sms.aliyun
    return AliyunBackend(
        access_key_id=settings.aliyun.access_key_id or "",
        access_key_secret=settings.aliyun.access_key_secret or "",
        sign_name=section.sign_name or "",
        templates=section.templates,
        region=section.region,
        base_url=settings.aliyun.base_url,
        timeout=timeout,
        pool_size=max(10, settings.sms.concurrency * 2),
        clock=clock,
        public_url=settings.web.public_url,
    )
