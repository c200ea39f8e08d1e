"""`officials link MOBILE` and `reviews list` through the real CLI entry point."""

import json
from datetime import UTC, date, datetime

import factories as f
from deadline_watch.cli import main
from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.officials import requests
from deadline_watch.officials.links import check_link

DUE = date(2026, 12, 8)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def run(capsys, db_url, *args):
    code = main(["--db", db_url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_officials_link_prints_a_working_link_and_refuses_unknown_numbers(sessions, db_url, capsys, monkeypatch):
    monkeypatch.setenv("DEADLINE_WATCH_PUBLIC_URL", "https://dub.example.gov.cn")
    monkeypatch.setenv("DEADLINE_WATCH_SECRET_KEY", "cli-secret-" + "x" * 30)
    with db.transaction(sessions) as session:
        owner = f.person(session, "王责任", "+8613912340021")
        f.milestone(session, DUE, project_=f.project(session, owner=owner))
    code, out, _ = run(capsys, db_url, "officials", "link", "139 1234 0021")
    assert code == 0 and out.startswith("https://dub.example.gov.cn/m/")
    settings = Settings.model_validate({"web": {"secret_key": "cli-secret-" + "x" * 30}})
    with db.transaction(sessions) as session:
        assert check_link(session, out.strip().rsplit("/", 1)[1], settings, now=datetime.now(UTC)).person_id == owner.id
    code, _, err = run(capsys, db_url, "officials", "link", "13700000000")
    assert code == 1 and "13700000000" in err


def test_officials_link_without_public_url_is_a_configuration_error(db_url, capsys, monkeypatch):
    monkeypatch.delenv("DEADLINE_WATCH_PUBLIC_URL", raising=False)
    code, _, err = run(capsys, db_url, "officials", "link", "13912340021")
    assert code == 2 and "public_url" in err


def test_reviews_list_shows_pending_requests_oldest_first(sessions, db_url, capsys):
    with db.transaction(sessions) as session:
        owner = f.person(session, "王责任", "+8613912340022")
        project = f.project(session, "GX-2026-0009", owner=owner)
        first = f.milestone(session, DUE, project_=project, name="组织实施")
        second = f.milestone(session, DUE, project_=project, name="阶段成果")
        requests.request_extension(session, owner.id, first.id, proposed_due_date=date(2027, 1, 8), reason="征地",
                                   now=NOW)
        requests.request_completion(session, owner.id, second.id, completed_on=date(2026, 11, 30), note="",
                                    files=[], settings=Settings(), now=NOW.replace(hour=3), today=date(2026, 12, 1),
                                    source="sms")
    code, out, _ = run(capsys, db_url, "reviews", "list", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["kind"] for row in rows] == ["extension", "completion"]
    assert rows[0]["proposed_due_date"] == "2027-01-08" and rows[1]["files"] == 0
    code, out, _ = run(capsys, db_url, "reviews", "list")
    assert code == 0 and "申请延期" in out and "GX-2026-0009" in out
