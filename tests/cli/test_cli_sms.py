"""The `deliver` and `resend` commands: one pass with counts, operator re-queue, auth exit code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from deadline_watch.cli import main
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import AuditEvent, Notification
from deadline_watch.fakes.twilio import FakeTwilio
from delivery_rows import queue

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def file_config(tmp_path) -> str:
    path = tmp_path / "deadline-watch.toml"
    path.write_text(
        f'[sms]\nbackend = "file"\nfile = "{tmp_path / "sent.jsonl"}"\nrate_per_second = 100\n', encoding="utf-8"
    )
    return str(path)


def test_deliver_json_sends_due_rows_to_the_file_and_prints_counts(sessions, db_url, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DEADLINE_WATCH_SMS_BACKEND", raising=False)
    queue(sessions, 3, now=NOW)
    code = main(["--config", file_config(tmp_path), "--db", db_url, "deliver", "--json", "--now", "2026-03-02T10:00"])
    assert code == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["sent"] == 3 and counts["failed"] == 0 and counts["auth_failed"] is False
    lines = (tmp_path / "sent.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["kind"] == "reminder"


def test_deliver_exits_2_and_keeps_the_queue_when_the_provider_rejects_credentials(
    sessions, db_url, tmp_path, capsys, monkeypatch
) -> None:
    queue(sessions, 4, now=NOW)
    config = tmp_path / "deadline-watch.toml"
    config.write_text("[sms]\nrate_per_second = 100\n", encoding="utf-8")
    with FakeTwilio(seed=1) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token")
        code = main(["--config", str(config), "--db", db_url, "deliver", "--now", "2026-03-02T10:00"])
        assert fake.messages == []
    assert code == 2
    assert "20003" in capsys.readouterr().err
    with transaction(sessions) as session:
        assert set(session.execute(sa.select(Notification.state, Notification.attempts)).all()) == {("pending", 0)}


def test_resend_requeues_a_failed_notification_with_an_audit_event(sessions, db_url, tmp_path, capsys) -> None:
    [nid] = queue(sessions, 1, now=NOW)
    with transaction(sessions) as session:
        session.execute(sa.update(Notification).values(state="failed", attempts=3, provider_error_code="21614"))
    assert main(["--config", file_config(tmp_path), "--db", db_url, "resend", str(nid)]) == 0
    with transaction(sessions) as session:
        row = session.get(Notification, nid)
        assert (row.state, row.attempts, row.provider_error_code) == ("pending", 0, None)
        [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notification.requeued")).all()
        assert event.entity_id == nid and event.before["state"] == "failed"


def test_resend_refuses_a_sent_notification_and_an_unknown_id(sessions, db_url, tmp_path, capsys) -> None:
    [nid] = queue(sessions, 1, now=NOW)
    with transaction(sessions) as session:
        session.execute(sa.update(Notification).values(state="sent"))
    assert main(["--config", file_config(tmp_path), "--db", db_url, "resend", str(nid)]) == 1
    assert main(["--config", file_config(tmp_path), "--db", db_url, "resend", "999999"]) == 1
    err = capsys.readouterr().err
    assert "sent" in err and "999999" in err and "Traceback" not in err
