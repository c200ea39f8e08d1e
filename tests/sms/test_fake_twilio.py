"""The local Twilio-compatible server: auth, Twilio-shaped bodies, filters, knobs, callbacks."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from form_endpoint import FormEndpoint
from twilio.rest import Client

from deadline_watch.core.clock import FixedClock
from deadline_watch.delivery.receipts import verify_signature
from deadline_watch.fakes.twilio import FakeTwilio, Scripted, load_recorded, max_in_window
from deadline_watch.sms.twilio_backend import BaseUrlHttpClient

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
TO = "+8613800138000"
OTHER = "+8613900139000"


def client_for(fake: FakeTwilio, token: str | None = None) -> Client:
    http = BaseUrlHttpClient(fake.base_url, timeout=5)
    return Client(fake.account_sid, token or fake.auth_token, http_client=http)


def raw(fake: FakeTwilio, method: str, path: str, form: dict | None = None, auth: tuple[str, str] | None = None):
    """(status, JSON body) of a plain HTTP request, bypassing the twilio client."""
    user, password = auth or (fake.account_sid, fake.auth_token)
    headers = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(fake.base_url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def messages_path(fake: FakeTwilio) -> str:
    return f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"


@pytest.fixture
def fixed_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(clock=FixedClock(T0)) as fake:
        yield fake


def test_send_with_wrong_basic_auth_gets_twilio_shaped_401(fake_twilio: FakeTwilio) -> None:
    status, body = raw(fake_twilio, "POST", messages_path(fake_twilio), {"To": TO, "From": "+1500", "Body": "x"}, auth=(fake_twilio.account_sid, "nope"))
    assert status == 401
    assert body == {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
    assert fake_twilio.messages == []


def test_accepted_message_reply_has_twilio_fields(fixed_fake: FakeTwilio) -> None:
    status, body = raw(fixed_fake, "POST", messages_path(fixed_fake), {"To": TO, "From": "+15005550006", "Body": "hello"})
    assert status == 201
    assert body["sid"].startswith("SM") and len(body["sid"]) == 34
    assert body["status"] == "queued" and body["price"] is None and body["num_segments"] == "1"
    assert parsedate_to_datetime(body["date_created"]) == T0
    assert body["uri"] == f"/2010-04-01/Accounts/{fixed_fake.account_sid}/Messages/{body['sid']}.json"


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("督" * 70, 1), ("督" * 71, 2), ("督" * 134, 2), ("督" * 135, 3)],
    ids=["gsm160", "gsm161", "gsm306", "gsm307", "ucs70", "ucs71", "ucs134", "ucs135"],
)
def test_segments_count_gsm7_and_ucs2_limits(fake_twilio: FakeTwilio, body: str, segments: int) -> None:
    message = client_for(fake_twilio).messages.create(to=TO, from_="+15005550006", body=body)
    assert int(message.num_segments) == segments


def test_list_filters_by_to_and_date_sent(fixed_fake: FakeTwilio) -> None:
    client = client_for(fixed_fake)
    early = client.messages.create(to=TO, from_="+15005550006", body="early")
    fixed_fake.clock.advance(timedelta(minutes=10))
    late = client.messages.create(to=TO, from_="+15005550006", body="late")
    client.messages.create(to=OTHER, from_="+15005550006", body="late, other number")

    after = client.messages.list(to=TO, date_sent_after=T0 + timedelta(minutes=5))
    assert [m.sid for m in after] == [late.sid]
    everything_to = client.messages.list(to=TO)
    assert [m.sid for m in everything_to] == [late.sid, early.sid]  # newest first, as Twilio
    assert {m.status for m in everything_to} == {"sent"} and everything_to[0].date_sent is not None
    # date-only filters compare whole days, as Twilio documents
    status, page = raw(fixed_fake, "GET", messages_path(fixed_fake) + "?" + urlencode({"DateSent>": "2026-03-03"}))
    assert status == 200 and page["messages"] == []
    status, page = raw(fixed_fake, "GET", messages_path(fixed_fake) + "?" + urlencode({"DateSent": "2026-03-02", "To": OTHER}))
    assert [m["body"] for m in page["messages"]] == ["late, other number"]


def test_held_messages_have_no_date_sent_until_released(fixed_fake: FakeTwilio) -> None:
    client = client_for(fixed_fake)
    fixed_fake.hold_in_queue = True
    held = client.messages.create(to=TO, from_="+15005550006", body="held")
    [listed] = client.messages.list(to=TO)
    assert (listed.status, listed.date_sent) == ("queued", None)
    assert client.messages.list(to=TO, date_sent_after=T0 - timedelta(minutes=1)) == []
    fixed_fake.release_queue()
    assert [m.sid for m in client.messages.list(to=TO, date_sent_after=T0 - timedelta(minutes=1))] == [held.sid]


def test_list_pages_are_followed_by_the_client(fake_twilio: FakeTwilio) -> None:
    client = client_for(fake_twilio)
    for index in range(23):
        client.messages.create(to=TO, from_="+15005550006", body=f"m{index}")
    listed = client.messages.list(to=TO, page_size=10)
    assert len(listed) == 23 and len({m.sid for m in listed}) == 23


def test_fetch_one_message_and_unknown_sid_is_404(fake_twilio: FakeTwilio) -> None:
    client = client_for(fake_twilio)
    created = client.messages.create(to=TO, from_="+15005550006", body="hi")
    assert client.messages(created.sid).fetch().body == "hi"
    status, body = raw(fake_twilio, "GET", f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages/SM{'0' * 32}.json")
    assert status == 404 and body["code"] == 20404


def test_missing_fields_are_rejected_with_twilio_codes(fake_twilio: FakeTwilio) -> None:
    path = messages_path(fake_twilio)
    assert raw(fake_twilio, "POST", path, {"From": "+15005550006", "Body": "x"})[1]["code"] == 21604
    assert raw(fake_twilio, "POST", path, {"To": TO, "Body": "x"})[1]["code"] == 21603
    assert raw(fake_twilio, "POST", path, {"To": TO, "From": "+15005550006"})[1]["code"] == 21602
    assert fake_twilio.messages == []


def test_scripted_answers_come_first_then_normal_service(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script(503, 503)
    path, form = messages_path(fake_twilio), {"To": TO, "From": "+15005550006", "Body": "x"}
    answers = [raw(fake_twilio, "POST", path, form)[0] for _ in range(3)]
    assert answers == [503, 503, 201]
    assert len(fake_twilio.messages) == 1


def test_scripted_accept_then_500_records_the_message(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script(Scripted(status=500, accept=True))
    status, body = raw(fake_twilio, "POST", messages_path(fake_twilio), {"To": TO, "From": "+15005550006", "Body": "x"})
    assert (status, body["code"]) == (500, 20500)
    assert len(fake_twilio.messages) == 1  # Twilio took it although the answer says otherwise


def test_error_code_knob_fails_every_send_with_its_http_status() -> None:
    with FakeTwilio(error_code=21408) as fake:
        for _ in range(2):
            status, body = raw(fake, "POST", messages_path(fake), {"To": TO, "From": "+15005550006", "Body": "x"})
            assert (status, body["code"], body["status"]) == (400, 21408, 400)
        assert fake.messages == []


def test_fail_rate_answers_transient_errors_at_about_that_rate() -> None:
    with FakeTwilio(fail_rate=0.5, seed=7) as fake:
        statuses = [raw(fake, "POST", messages_path(fake), {"To": TO, "From": "+1500555", "Body": "x"})[0] for _ in range(60)]
    failures = [s for s in statuses if s != 201]
    assert set(failures) <= {500, 503} and 15 <= len(failures) <= 45
    assert len(fake.messages) == statuses.count(201)


def test_record_file_keeps_every_accepted_message(tmp_path: Path) -> None:
    record = tmp_path / "sent.jsonl"
    with FakeTwilio(record_path=record) as fake:
        fake.opt_out(OTHER)
        for to in (TO, OTHER, TO):
            raw(fake, "POST", messages_path(fake), {"To": to, "From": "+15005550006", "Body": "记录"})
    records = load_recorded(record)
    assert [r["to"] for r in records] == [TO, TO]
    assert records[0]["body"] == "记录" and records[0]["sid"] == fake.messages[0].sid
    assert datetime.fromisoformat(records[0]["received_at"]).tzinfo is not None


def test_max_in_window_counts_the_busiest_second() -> None:
    instants = [T0 + timedelta(milliseconds=ms) for ms in (0, 100, 900, 999, 1000, 1500, 1999, 3000)]
    assert max_in_window(instants, 1.0) == 4  # 900, 999, 1000, 1500 fall within one second
    assert max_in_window([], 1.0) == 0


@pytest.fixture
def receiver() -> Iterator[FormEndpoint]:
    found = FormEndpoint()
    yield found
    found.close()


def test_status_callbacks_are_posted_in_order_and_signed(receiver: FormEndpoint) -> None:
    with FakeTwilio(callback_statuses=("sent", "delivered"), callback_delay=0.05) as fake:
        created = client_for(fake).messages.create(to=TO, from_="+15005550006", body="x", status_callback=receiver.url)
        deadline = time.monotonic() + 5
        while len(receiver.posts) < 2 and time.monotonic() < deadline:
            receiver.arrived.wait(0.1)
            receiver.arrived.clear()
    assert [form["MessageStatus"] for _, form, _ in receiver.posts] == ["sent", "delivered"]
    for _path, form, signature in receiver.posts:
        assert form["MessageSid"] == created.sid and form["To"] == TO
        assert verify_signature(receiver.url, form, signature, fake.auth_token)
        assert not verify_signature(receiver.url, form, signature, "another-token")
    assert fake.message(created.sid).status == "delivered"


def test_post_status_by_hand_reports_the_answer_and_can_skip_signing(fake_twilio: FakeTwilio, receiver: FormEndpoint) -> None:
    created = client_for(fake_twilio).messages.create(to=TO, from_="+15005550006", body="x", status_callback=receiver.url)
    assert fake_twilio.post_status(created.sid, "undelivered", error_code=30005) == 204
    assert fake_twilio.post_status(created.sid, "failed", sign=False) == 204
    (_, first, signature), (_, second, missing) = receiver.posts
    assert first["ErrorCode"] == "30005" and signature and missing is None


def test_cli_prints_the_environment_to_export_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "DEADLINE_WATCH_CONFIG": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "deadline_watch", "fake-twilio", "--port", "0", "--auth-token", "tok"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(6)]
        exported = dict(line.removeprefix("export ").split("=", 1) for line in lines[1:])
        assert exported["TWILIO_AUTH_TOKEN"] == "tok"
        assert exported["DEADLINE_WATCH_TWILIO_BASE_URL"].startswith("http://127.0.0.1:")
        fake_url = exported["DEADLINE_WATCH_TWILIO_BASE_URL"]
        http = BaseUrlHttpClient(fake_url, timeout=5)
        created = Client(exported["TWILIO_ACCOUNT_SID"], "tok", http_client=http).messages.create(
            to=TO, from_=exported["TWILIO_FROM_NUMBER"], body="via CLI"
        )
        assert created.sid.startswith("SM")
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "1 message(s) accepted" in err
