"""The Twilio backend with the real `twilio` client against the local fake server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import factories as f
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError, SmsError
from deadline_watch.fakes.twilio import FakeTwilio, Scripted
from deadline_watch.sms.base import OutgoingSms
from deadline_watch.sms.twilio_backend import (
    BaseUrlHttpClient,
    TwilioBackend,
    classify,
    is_auth_error,
    twilio_backend_from_settings,
)

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
TO = "+8613800138000"
BODY = "【高新区督办】张三同志:您负责的“天府软件园三期建设”项目“组织实施”节点将于03月09日到期,请抓紧推进并在督办平台上传完成佐证材料,如有困难请及时报告。"


def sms(to: str = TO, body: str = BODY) -> OutgoingSms:
    return f.outgoing_sms(to=to, body=body, dedup_key="reminder:1:2026-03-09:7:1")


@pytest.fixture
def fixed_fake() -> Iterator[FakeTwilio]:
    """A fake whose clock stands at T0, so DateSent filtering is exact."""
    with FakeTwilio(clock=FixedClock(T0)) as fake:
        yield fake


def backend_for(fake: FakeTwilio, *, public_url: str | None = None, timeout: float = 5.0) -> TwilioBackend:
    settings = fake.settings(Settings())
    if public_url:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"public_url": public_url})})
    return twilio_backend_from_settings(settings, timeout=timeout)


def test_send_returns_the_sid_twilio_assigned_and_its_segment_count(fake_twilio: FakeTwilio) -> None:
    result = backend_for(fake_twilio).send(sms())

    [received] = fake_twilio.messages
    assert result.provider_message_id == received.sid
    assert result.provider_message_id.startswith("SM") and len(result.provider_message_id) == 34
    assert (received.to, received.body, received.from_) == (TO, BODY, fake_twilio.from_number)
    assert len(BODY) > 70 and result.segments == 2  # Chinese text: UCS-2, 67 per part
    assert result.price is None
    assert received.status_callback is None  # no public URL configured


def test_status_callback_is_requested_when_a_public_url_is_configured(fake_twilio: FakeTwilio) -> None:
    backend_for(fake_twilio, public_url="https://dw.example.gov.cn/").send(sms())

    assert fake_twilio.messages[0].status_callback == "https://dw.example.gov.cn/twilio/status"


def test_messaging_service_is_used_as_sender_when_configured(fake_twilio: FakeTwilio) -> None:
    settings = fake_twilio.settings(Settings())
    settings = settings.model_copy(
        update={"twilio": settings.twilio.model_copy(update={"from_number": None, "messaging_service_sid": "MG" + "1" * 32})}
    )
    twilio_backend_from_settings(settings).send(sms())

    [received] = fake_twilio.messages
    assert received.messaging_service_sid == "MG" + "1" * 32 and received.from_ is None


def test_base_url_rewrites_twilio_hosts_only_and_keeps_a_path_prefix() -> None:
    client = BaseUrlHttpClient("https://proxy.example/twilio/", timeout=1)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B86"
    assert client.rewrite(url) == "https://proxy.example/twilio/2010-04-01/Accounts/AC1/Messages.json?To=%2B86"
    assert client.rewrite("https://api.us1.twilio.com/x") == "https://proxy.example/twilio/x"
    assert client.rewrite("https://elsewhere.example/x") == "https://elsewhere.example/x"
    assert BaseUrlHttpClient(None, timeout=1).rewrite(url) == url


def test_base_url_sends_the_real_client_to_the_fake(fake_twilio: FakeTwilio) -> None:
    backend = backend_for(fake_twilio)
    assert isinstance(backend.client.http_client, BaseUrlHttpClient)
    backend.send(sms())
    assert fake_twilio.requests_seen == 1 and len(fake_twilio.messages) == 1


@pytest.mark.parametrize(
    ("step", "status", "code"),
    [
        (500, 500, "20500"),
        (503, 503, "20503"),
        (Scripted(status=429, code=20429), 429, "20429"),
        (Scripted(status=502, code=502), 502, None),  # a gateway error: no Twilio code in the body
    ],
    ids=["500", "503", "429-20429", "502"],
)
def test_transient_http_errors_are_retryable_and_the_next_send_recovers(
    fake_twilio: FakeTwilio, step: Scripted | int, status: int, code: str | None
) -> None:
    backend = backend_for(fake_twilio)
    fake_twilio.script(step)

    with pytest.raises(SmsError) as caught:
        backend.send(sms())
    assert caught.value.permanent is False
    assert caught.value.http_status == status and caught.value.code == code
    assert fake_twilio.messages == []

    assert backend.send(sms()).provider_message_id == fake_twilio.messages[0].sid


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = TwilioBackend(
        account_sid="AC" + "0" * 32, auth_token="t", from_number="+15005550006", base_url=f"http://127.0.0.1:{port}", timeout=2
    )
    with pytest.raises(SmsError) as caught:
        backend.send(sms())
    assert caught.value.permanent is False and caught.value.code == "connection"


def test_read_timeout_is_transient_and_ambiguous(fixed_fake: FakeTwilio) -> None:
    fake_twilio = fixed_fake
    backend = backend_for(fake_twilio, timeout=0.3)
    fake_twilio.latency_ms = 1000
    since = T0 - timedelta(seconds=5)

    with pytest.raises(SmsError) as caught:
        backend.send(sms())
    assert caught.value.permanent is False and caught.value.code == "read_timeout"
    # the fake (like Twilio) accepted it before the reply was lost: reconciliation finds it
    fake_twilio.latency_ms = 0
    found = backend.find_sent(TO, BODY, since)
    assert found is not None and found.provider_message_id == fake_twilio.messages[0].sid


def test_dropped_connection_is_transient(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script(Scripted(drop=True, accept=False))
    with pytest.raises(SmsError) as caught:
        backend_for(fake_twilio).send(sms())
    assert caught.value.permanent is False and caught.value.code == "connection"


@pytest.mark.parametrize(
    ("arrange", "to", "code"),
    [
        (lambda fake: None, "13800138000", "21211"),  # not E.164
        (lambda fake: fake.opt_out(TO), TO, "21610"),
        (lambda fake: fake.fail_number(TO, 21614), TO, "21614"),
        (lambda fake: fake.fail_number(TO, 21408), TO, "21408"),
    ],
    ids=["21211-invalid-to", "21610-unsubscribed", "21614-not-mobile", "21408-region"],
)
def test_permanent_twilio_codes_are_not_retryable(fake_twilio: FakeTwilio, arrange, to: str, code: str) -> None:
    arrange(fake_twilio)
    with pytest.raises(SmsError) as caught:
        backend_for(fake_twilio).send(sms(to=to))
    assert caught.value.permanent is True
    assert caught.value.code == code and caught.value.http_status == 400
    assert not is_auth_error(caught.value)
    assert fake_twilio.messages == []


def test_error_messages_mask_the_phone_number_twilio_quotes(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(SmsError) as caught:
        backend_for(fake_twilio).send(sms(to="13800138000"))
    assert "13800138000" not in str(caught.value) and "138****8000" in str(caught.value)


def test_wrong_credentials_are_a_permanent_auth_error(fake_twilio: FakeTwilio) -> None:
    backend = TwilioBackend(
        account_sid=fake_twilio.account_sid, auth_token="wrong", from_number="+15005550006", base_url=fake_twilio.base_url
    )
    with pytest.raises(SmsError) as caught:
        backend.send(sms())
    assert caught.value.permanent is True and caught.value.http_status == 401
    assert caught.value.code == "20003" and is_auth_error(caught.value)


def test_a_bare_401_without_twilio_body_is_still_an_auth_error(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script(Scripted(status=401, code=401))  # body code equals status: treated as absent
    with pytest.raises(SmsError) as caught:
        backend_for(fake_twilio).send(sms())
    assert is_auth_error(caught.value) and caught.value.permanent is True


@pytest.mark.parametrize(
    ("http_status", "code", "permanent"),
    [
        (429, 20429, False),
        (500, None, False),
        (503, 20503, False),
        (None, None, False),  # no answer: connection error or timeout
        (400, 20429, False),  # the code wins over the status
        (400, 21211, True),
        (400, 21610, True),
        (400, 21614, True),
        (400, 21408, True),
        (401, 20003, True),
        (401, None, True),
        (403, None, True),
        (404, None, True),
        (422, 12345, True),  # any other 4xx
    ],
)
def test_classify_by_http_status_and_twilio_code(http_status: int | None, code: int | None, permanent: bool) -> None:
    assert classify(http_status, code) is permanent
    assert classify(http_status, str(code) if code else None) is permanent


def test_find_sent_finds_an_accepted_message_and_not_an_unsent_one(fixed_fake: FakeTwilio) -> None:
    backend = backend_for(fixed_fake)
    since = T0 - timedelta(seconds=5)
    sent = backend.send(sms())
    backend.send(sms(to="+8613900139000"))  # same body, another recipient

    found = backend.find_sent(TO, BODY, since)
    assert found is not None and found.provider_message_id == sent.provider_message_id
    assert found.segments == 2
    assert backend.find_sent(TO, BODY + "(另一条)", since) is None
    assert backend.find_sent("+8613700137000", BODY, since) is None
    assert backend.find_sent(TO, BODY, T0 + timedelta(hours=1)) is None


def test_find_sent_raises_transient_error_when_twilio_cannot_be_asked(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script(503, on="list")
    with pytest.raises(SmsError) as caught:  # the library raises a bare TwilioException here
        backend_for(fake_twilio).find_sent(TO, BODY, T0)
    assert caught.value.permanent is False and caught.value.http_status == 503


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"account_sid": None}, "TWILIO_ACCOUNT_SID"),
        ({"auth_token": None}, "TWILIO_AUTH_TOKEN"),
        ({"from_number": None, "messaging_service_sid": None}, "TWILIO_FROM_NUMBER"),
    ],
)
def test_missing_credentials_refuse_with_one_line_naming_them(missing: dict, named: str) -> None:
    complete = {"account_sid": "AC" + "0" * 32, "auth_token": "t", "from_number": "+15005550006"}
    settings = Settings.model_validate({"sms": {"backend": "twilio"}, "twilio": {**complete, **missing}})
    with pytest.raises(ConfigError) as caught:
        twilio_backend_from_settings(settings)
    assert named in caught.value.message and "\n" not in caught.value.message
    assert caught.value.exit_code == 2


def test_base_url_without_http_scheme_is_refused() -> None:
    settings = Settings.model_validate(
        {"twilio": {"account_sid": "AC1", "auth_token": "t", "from_number": "+1500", "base_url": "127.0.0.1:8765"}}
    )
    with pytest.raises(ConfigError, match="DEADLINE_WATCH_TWILIO_BASE_URL"):
        twilio_backend_from_settings(settings)


def test_fetch_status_reads_twilio_current_status_as_callback_parameters(fake_twilio: FakeTwilio) -> None:
    backend = backend_for(fake_twilio)
    sid = backend.send(sms()).provider_message_id
    assert backend.fetch_status(sid) == {"MessageSid": sid, "MessageStatus": "sent"}
    fake_twilio.message(sid).status, fake_twilio.message(sid).error_code = "undelivered", 30005
    assert backend.fetch_status(sid) == {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    with pytest.raises(SmsError) as caught:
        backend.fetch_status("SM" + "0" * 32)
    assert caught.value.http_status == 404 and caught.value.permanent is True


def test_find_sent_sees_a_message_still_waiting_in_twilios_queue(fixed_fake: FakeTwilio) -> None:
    backend = backend_for(fixed_fake)
    fixed_fake.hold_in_queue = True  # a throttled sender: accepted, no date_sent yet
    sent = backend.send(sms())

    found = backend.find_sent(TO, BODY, T0 - timedelta(seconds=5))
    assert found is not None and found.provider_message_id == sent.provider_message_id
    assert backend.find_sent(TO, BODY, T0 + timedelta(hours=1)) is None


def test_a_message_twilio_reports_undelivered_is_not_taken_for_already_sent(fixed_fake: FakeTwilio) -> None:
    """A retry after a 30003 callback must go out again: the failed attempt is no match."""
    backend = backend_for(fixed_fake)
    since = T0 - timedelta(seconds=5)
    backend.send(sms())
    assert backend.find_sent(TO, BODY, since) is not None
    fixed_fake.messages[0].status = "undelivered"
    assert backend.find_sent(TO, BODY, since) is None


def test_a_messaging_service_send_leaves_segments_unknown_instead_of_zero() -> None:
    from types import SimpleNamespace

    from deadline_watch.sms.twilio_backend import _result

    created = SimpleNamespace(sid="SM" + "0" * 32, num_segments="0", price=None)
    assert _result(created).segments is None
    assert _result(SimpleNamespace(sid="SM" + "0" * 32, num_segments="2", price=None)).segments == 2
