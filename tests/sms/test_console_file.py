"""The console and file backends: readable output, one durable JSON line per message, lookups."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

import factories as f
from deadline_watch.core.config import Settings
from deadline_watch.core.errors import ConfigError
from deadline_watch.sms.base import OutgoingSms
from deadline_watch.sms.console import ConsoleBackend
from deadline_watch.sms.factory import make_backend
from deadline_watch.sms.file import FileBackend

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def message(body: str = "【高新区督办】您负责的项目节点7天后到期", to: str = "+8613800138000", **extra) -> OutgoingSms:
    return f.outgoing_sms(**{"to": to, "body": body, "notification_id": 1, "sent_at": NOW, **extra})


def test_console_prints_recipient_and_body_and_numbers_ids() -> None:
    stream = io.StringIO()
    backend = ConsoleBackend(stream)
    first = backend.send(message())
    second = backend.send(message(body="第二条"))
    text = stream.getvalue()
    assert first.provider_message_id == "console-1"
    assert second.provider_message_id == "console-2"
    assert "+8613800138000" in text and "您负责的项目节点7天后到期" in text and "第二条" in text


def test_file_backend_appends_one_json_object_per_message(tmp_path) -> None:
    path = tmp_path / "out" / "sms.jsonl"
    backend = FileBackend(path)
    backend.send(message())
    backend.send(message(to="+8613900139000"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    assert lines[0]["to"] == "+8613800138000"
    assert lines[0]["body"] == "【高新区督办】您负责的项目节点7天后到期"
    assert lines[0]["kind"] == "reminder"
    assert lines[0]["project_code"] == "GX-2026-001"
    assert lines[0]["milestone"] == "组织实施"
    assert lines[0]["due_date"] == "2026-03-09"
    assert datetime.fromisoformat(lines[0]["sent_at"]) == NOW
    assert lines[1]["to"] == "+8613900139000"


def test_file_backend_finds_a_recorded_message_since_an_instant(tmp_path) -> None:
    backend = FileBackend(tmp_path / "sms.jsonl")
    sent = backend.send(message())
    assert backend.find_sent("+8613800138000", message().body, NOW - timedelta(minutes=1)) == sent
    assert backend.find_sent("+8613800138000", message().body, NOW + timedelta(minutes=1)) is None
    assert backend.find_sent("+8613800138000", "别的内容", NOW - timedelta(minutes=1)) is None
    assert backend.find_sent("+8613900139000", message().body, NOW - timedelta(minutes=1)) is None


def test_file_backend_skips_a_torn_last_line_after_a_crash(tmp_path) -> None:
    path = tmp_path / "sms.jsonl"
    backend = FileBackend(path)
    backend.send(message())
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"to": "+86139')
    assert len(backend.read()) == 1


def test_factory_builds_console_and_file_backends(tmp_path) -> None:
    console = make_backend(Settings(), stream=io.StringIO())
    assert isinstance(console, ConsoleBackend)
    file_settings = Settings.model_validate({"sms": {"backend": "file", "file": str(tmp_path / "x.jsonl")}})
    backend = make_backend(file_settings)
    assert isinstance(backend, FileBackend)
    assert backend.path == tmp_path / "x.jsonl"


@pytest.mark.parametrize(
    "twilio, missing",
    [
        ({}, "TWILIO_ACCOUNT_SID"),
        ({"account_sid": "AC1", "from_number": "+15005550006"}, "TWILIO_AUTH_TOKEN"),
        ({"account_sid": "AC1", "auth_token": "t"}, "TWILIO_FROM_NUMBER"),
    ],
)
def test_twilio_backend_refuses_to_start_without_credentials_and_sender(twilio, missing) -> None:
    settings = Settings.model_validate({"sms": {"backend": "twilio"}, "twilio": twilio})
    with pytest.raises(ConfigError) as caught:
        make_backend(settings)
    assert missing in caught.value.message
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message
