"""A local Alibaba Cloud SMS (Dysmsapi 2017-05-25) server for development, tests and benchmarks.

It answers the two RPC actions this product calls, SendSms and QuerySendDetails, the way
the service does: parameters in the query string (or a form body), the ACS3-HMAC-SHA256
`Authorization` header checked against the AccessKey secret, business errors (isv.*) as
HTTP 200 bodies with a Code other than "OK", gateway errors (bad AccessKey or signature,
throttling) as HTTP errors with {RequestId, HostId, Code, Message, Recommend}. Every
accepted message is recorded (in memory and optionally as JSON lines, so a killed
client's sends can be counted from another process), failures are injected on demand,
and each message gets a delivery receipt readable through QuerySendDetails.
The official SDK is pointed at it through `DEADLINE_WATCH_ALIYUN_BASE_URL`. The server's
lifecycle, record file and failure knobs are local_server.py's; the signature check is
acs3_signature.py's.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from deadline_watch.core.clock import Clock, SystemClock
from deadline_watch.fakes.acs3_signature import signature_problem
from deadline_watch.fakes.local_server import FakeServer, LocalFake
from deadline_watch.sms.segments import count_segments

DEFAULT_ACCESS_KEY_ID = "LTAI-fake-access-key-id"
DEFAULT_ACCESS_KEY_SECRET = "fake-access-key-secret"
HOST_ID = "dysmsapi.aliyuncs.com"
BEIJING = ZoneInfo("Asia/Shanghai")
VARIABLE_LIMIT = 35  # characters per variable of a notification template

# Gateway errors: code -> (HTTP status, message). Everything else (isv.*) is an HTTP 200 body.
GATEWAY_ERRORS: dict[str, tuple[int, str]] = {
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "SignatureDoesNotMatch": (400, "Specified signature does not match our calculation."),
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "MissingParameter": (400, "A required parameter is not supplied."),
    "InvalidAction.NotFound": (404, "Specified api is not found, please check your url and method."),
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "InternalError": (500, "The request processing has failed due to some unknown error."),
}
BUSINESS_MESSAGES = {
    "isv.BUSINESS_LIMIT_CONTROL": "触发分钟级流控Permits:1",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.BLACK_KEY_CONTROL_LIMIT": "黑名单管控",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法,只接受字符串值",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少对应参数值",
    "isv.PARAM_LENGTH_LIMIT": "参数超出长度限制",
    "isv.INVALID_PARAMETERS": "参数异常",
}
# what --fail-rate answers with: the service's usual transient refusals
TRANSIENT_FAILURES = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "ServiceUnavailable")
_MAINLAND = re.compile(r"^1\d{10}$")
_VARIABLE = re.compile(r"\$\{(\w+)\}")

# QuerySendDetails SendStatus
WAITING, FAILED, DELIVERED = 1, 2, 3


@dataclass(frozen=True)
class Scripted:
    """One scripted answer to the next SendSms.

    `code` is an error code (None: accept). `accept` records the message even so (accepted,
    but the answer is an error or is lost). `drop` closes the connection without an answer.
    """

    code: str | None = None
    accept: bool | None = None
    drop: bool = False
    delay: float = 0.0

    @property
    def accepts(self) -> bool:
        return self.accept if self.accept is not None else self.code is None


@dataclass
class FakeSms:
    biz_id: str
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str | None
    content: str
    send_date: datetime  # Beijing time, as the service reports it
    segments: int
    received_at: datetime | None = None  # wall-clock instant of acceptance (rate measurements)
    accepted_monotonic: float = field(default=0.0, repr=False)
    receipt_error: str | None = None  # the handset never got it: this code in the receipt

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("accepted_monotonic")
        record["send_date"] = self.send_date.isoformat()
        record["received_at"] = self.received_at.isoformat() if self.received_at else None
        return record


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    @property
    def fake(self) -> FakeAliyun:
        return self.server.fake

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._answer()

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = urlsplit(self.path)
        query = parse_qsl(target.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in self.headers.items()}
        problem = signature_problem(
            fake.access_key_id, fake.access_key_secret, method=self.command, path=target.path, query=query,
            headers=headers, body=body,
        )
        if problem is not None:
            self._json(*FakeAliyun._error(problem))
            return
        params = dict(query)
        if body and "x-www-form-urlencoded" in headers.get("content-type", ""):
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if fake.latency_ms:
            time.sleep(fake.latency_ms / 1000)
        action = headers.get("x-acs-action") or params.get("Action", "")
        if action == "SendSms":
            status, answer, drop = fake.send_sms(params)
            if drop:
                self.close_connection = True
                self.connection.close()
                return
            self._json(status, answer)
        elif action == "QuerySendDetails":
            self._json(*fake.query_send_details(params))
        else:
            self._json(*FakeAliyun._error("InvalidAction.NotFound"))

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


class FakeAliyun(LocalFake):
    """The server and its knobs. Use as a context manager or call `start()` / `stop()`."""

    handler = _Handler
    thread_name = "fake-aliyun"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET,
        templates: dict[str, str] | None = None,
        sign_names: set[str] | None = None,
        fail_rate: float = 0.0,
        error_code: str | None = None,
        latency_ms: float = 0.0,
        receipt_delay: float = 0.0,
        record_path: Path | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            host=host, port=port, fail_rate=fail_rate, latency_ms=latency_ms, record_path=record_path, seed=seed
        )
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        # approved template code -> text with ${var}; None accepts any code (content = the params)
        self.templates = templates
        self.sign_names = sign_names  # registered signatures; None accepts any
        self.error_code = error_code
        self.receipt_delay = receipt_delay  # seconds before a receipt is final (SendStatus 1 until then)
        self.clock: Clock = clock or SystemClock(BEIJING)
        # the real time of each acceptance, whatever `clock` says (rates in benchmarks)
        self.wall_clock: Clock = SystemClock(ZoneInfo("UTC"))
        self.number_errors: dict[str, str] = {}  # phone (11 digits) -> error code on SendSms
        self.receipt_errors: dict[str, str] = {}  # phone -> ErrCode of a failed receipt
        self.requests_seen = 0
        self.queries_seen = 0
        self._messages: list[FakeSms] = []
        self._script: deque[Scripted] = deque()

    def env(self) -> dict[str, str]:
        """The environment that points deadline-watch (and the SDK's credentials) at this fake."""
        return {
            "DEADLINE_WATCH_SMS_BACKEND": "aliyun",
            "DEADLINE_WATCH_ALIYUN_BASE_URL": self.base_url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": self.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.access_key_secret,
        }

    # ------------------------------------------------------------ knobs and records

    def script(self, *steps: Scripted | str) -> None:
        """Answer the next SendSms requests with these (an error code string or a Scripted)."""
        with self._lock:
            self._script.extend(step if isinstance(step, Scripted) else Scripted(code=step) for step in steps)

    @property
    def messages(self) -> list[FakeSms]:
        with self._lock:
            return list(self._messages)

    def status_of(self, message: FakeSms) -> tuple[int, str]:
        """(SendStatus, ErrCode) of a message now."""
        if time.monotonic() - message.accepted_monotonic < self.receipt_delay:
            return WAITING, ""
        if message.receipt_error:
            return FAILED, message.receipt_error
        return DELIVERED, "DELIVERED"

    # ------------------------------------------------------------ actions

    def send_sms(self, params: dict[str, str]) -> tuple[int, dict[str, Any], bool]:
        """(HTTP status, body, drop the connection)."""
        with self._lock:
            self.requests_seen += 1
            step = self._script.popleft() if self._script else None
        if step is None and self.error_code:
            step = Scripted(code=self.error_code)
        if step is None and (transient := self.injected_failure(TRANSIENT_FAILURES)) is not None:
            step = Scripted(code=transient)
        phone = params.get("PhoneNumbers", "")
        if step is None and phone in self.number_errors:
            step = Scripted(code=self.number_errors[phone])
        if step is not None and step.delay:
            time.sleep(step.delay)
        problem = step.code if step is not None else self._invalid_send(params)
        accept = step.accepts if step is not None else problem is None
        biz_id = None
        if accept:
            biz_id = self._record(params)
        if step is not None and step.drop:
            return 0, {}, True
        if problem is not None:
            return (*self._error(problem), False)
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": _request_id()}, False

    def _invalid_send(self, params: dict[str, str]) -> str | None:
        """The business error a real account would answer for these parameters, if any."""
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return "MissingParameter" if name != "PhoneNumbers" else "isv.MOBILE_NUMBER_ILLEGAL"
        if not all(_MAINLAND.match(number) for number in params["PhoneNumbers"].split(",")):
            return "isv.MOBILE_NUMBER_ILLEGAL"
        if self.sign_names is not None and params["SignName"] not in self.sign_names:
            return "isv.SMS_SIGNATURE_ILLEGAL"
        if self.templates is not None and params["TemplateCode"] not in self.templates:
            return "isv.SMS_TEMPLATE_ILLEGAL"
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return "isv.INVALID_JSON_PARAM"
        if any(len(value) > VARIABLE_LIMIT for value in values.values()):
            return "isv.PARAM_LENGTH_LIMIT"
        if self.templates is not None:
            wanted = set(_VARIABLE.findall(self.templates[params["TemplateCode"]]))
            if not wanted <= set(values) or any(not values[name] for name in wanted):
                return "isv.TEMPLATE_MISSING_PARAMETERS"
        return None

    def _record(self, params: dict[str, str]) -> str:
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            values = {}
        values = values if isinstance(values, dict) else {}
        text = (self.templates or {}).get(params.get("TemplateCode", ""))
        body = _VARIABLE.sub(lambda m: str(values.get(m.group(1), "")), text) if text else json.dumps(values, ensure_ascii=False)
        content = f"【{params.get('SignName', '')}】{body}"
        phone = params.get("PhoneNumbers", "")
        message = FakeSms(
            biz_id=f"{self._random.randrange(10**17, 10**18)}^0",
            phone=phone,
            sign_name=params.get("SignName", ""),
            template_code=params.get("TemplateCode", ""),
            params={str(k): str(v) for k, v in values.items()},
            out_id=params.get("OutId"),
            content=content,
            send_date=self.clock.now().astimezone(BEIJING).replace(microsecond=0),
            segments=count_segments(content),
            received_at=self.wall_clock.now(),
            accepted_monotonic=time.monotonic(),
            receipt_error=self.receipt_errors.get(phone),
        )
        with self._lock:
            self._messages.append(message)
            self.write_record(message.as_record())
        return message.biz_id

    def query_send_details(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.queries_seen += 1
        phone, day = params.get("PhoneNumber", ""), params.get("SendDate", "")
        try:
            size, page = int(params.get("PageSize", "")), int(params.get("CurrentPage", ""))
        except ValueError:
            return self._error("MissingParameter")
        if not phone or not re.fullmatch(r"\d{8}", day) or not 1 <= size <= 50 or page < 1:
            return self._error("isv.INVALID_PARAMETERS")
        biz_id = params.get("BizId")
        found = [
            message
            for message in self.messages
            if message.phone == phone
            and message.send_date.strftime("%Y%m%d") == day
            and (not biz_id or message.biz_id == biz_id)
        ]
        shown = found[(page - 1) * size : page * size]
        details = []
        for message in shown:
            status, err_code = self.status_of(message)
            details.append(
                {
                    "PhoneNum": message.phone,
                    "SendStatus": status,
                    "ErrCode": err_code,
                    "TemplateCode": message.template_code,
                    "Content": message.content,
                    "SendDate": message.send_date.strftime("%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": message.send_date.strftime("%Y-%m-%d %H:%M:%S") if status != WAITING else "",
                    "OutId": message.out_id or "",
                }
            )
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "RequestId": _request_id(),
            "TotalCount": str(len(found)),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
        }

    @staticmethod
    def _error(code: str) -> tuple[int, dict[str, Any]]:
        if code in GATEWAY_ERRORS:
            status, message = GATEWAY_ERRORS[code]
            return status, {
                "RequestId": _request_id(),
                "HostId": HOST_ID,
                "Code": code,
                "Message": message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi",
            }
        return 200, {"Code": code, "Message": BUSINESS_MESSAGES.get(code, code), "RequestId": _request_id()}


def _request_id() -> str:
    return str(uuid.uuid4()).upper()
