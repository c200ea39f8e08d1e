"""Hostile users: sessions that end on the server, a lockout that tells nothing and cannot
be aimed at someone else, password rules, and failed logins that keep names out of the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from structlog.testing import capture_logs

from deadline_watch.board import logins, users
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import WebSession
from deadline_watch.web import create_app
from deadline_watch.web.auth import SESSION_COOKIE

from .conftest import NOW, PASSWORD, csrf_from, login


def client_at(board, address: str) -> TestClient:
    return TestClient(create_app(board.app_context), base_url="http://testserver", follow_redirects=False,
                      client=(address, 40000))


def logged_in_at(board, address: str, username: str) -> TestClient:
    client = client_at(board, address)
    assert login(client, username).status_code == 303
    return client


def test_a_cookie_replayed_after_logout_gets_401(board):
    client = board.login("super1")
    copied = client.cookies.get(SESSION_COOKIE)
    token = client.get("/api/me").json()["csrf_token"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    thief = board.client()
    thief.cookies.set(SESSION_COOKIE, copied)
    assert thief.get("/api/me").status_code == 401
    noted = thief.post(f"/api/escalations/{board.seeded.escalation_ids[0]}/notes",
                       json={"text": "still here"}, headers={"X-CSRF-Token": token})
    assert noted.status_code == 401


def test_logout_ends_only_that_session(board):
    first, second = board.login("super1"), board.login("super1")
    token = first.get("/api/me").json()["csrf_token"]
    first.post("/logout", data={"csrf_token": token})
    assert first.get("/api/me").status_code == 401 and second.get("/api/me").status_code == 200


def test_deactivation_and_a_new_password_delete_the_session_rows(board):
    board.login("super1"), board.login("viewer1")
    with transaction(board.sessions) as session:
        users.set_active(session, username="super1", active=False, now=board.clock.now())
        users.set_password(session, username="viewer1", password="another-pass-1", now=board.clock.now())
    with transaction(board.sessions) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_an_expired_session_is_refused(board):
    client = board.login("super1")
    board.clock.advance(timedelta(hours=board.app_context.settings.web.session_max_age_hours, seconds=1))
    assert client.get("/api/me").status_code == 401


def _refusal(response) -> tuple[int, str]:
    text = response.text
    return response.status_code, text[text.index('class="error"'):][:200]


def test_unknown_wrong_and_locked_get_the_same_answer_and_the_same_work(board, monkeypatch):
    verified = []
    real_verify = users._verify
    monkeypatch.setattr(users, "_verify", lambda *args: verified.append(1) or real_verify(*args))
    client = client_at(board, "10.1.1.1")
    for _ in range(logins.FAILURES_BEFORE_LOCK):
        login(client, "super1", "wrong-password")
    verified.clear()
    unknown = _refusal(login(client, "nobody-here", "wrong-password"))
    wrong = _refusal(login(client, "super2", "wrong-password"))
    locked = _refusal(login(client, "super1", PASSWORD))  # the right password, while locked
    assert unknown == wrong == locked and unknown[0] == 401
    assert "锁定" not in locked[1]
    assert len(verified) == 3  # one argon2 verification each, locked included


def test_a_stranger_cannot_lock_a_user_out_from_elsewhere(board):
    stranger = client_at(board, "203.0.113.9")
    for _ in range(3 * logins.FAILURES_BEFORE_LOCK):
        login(stranger, "admin1", "guess")
    assert login(stranger, "admin1").status_code == 401  # the stranger's own pair is locked
    logged_in_at(board, "10.0.0.5", "admin1")  # the admin at the office is not


def test_the_pair_lock_expires(board):
    client = client_at(board, "10.1.1.2")
    for _ in range(logins.FAILURES_BEFORE_LOCK):
        login(client, "super1", "wrong-password")
    assert login(client, "super1").status_code == 401
    board.clock.advance(logins.FIRST_LOCK + timedelta(seconds=1))
    assert login(client, "super1").status_code == 303


def test_one_address_trying_many_names_waits_but_others_do_not(board):
    sprayer = client_at(board, "198.51.100.7")
    for number in range(logins.ADDRESS_LIMIT):
        login(sprayer, f"guess{number}", "wrong-password")
    assert login(sprayer, "admin1").status_code == 401
    logged_in_at(board, "10.0.0.6", "admin1")
    board.clock.advance(logins.ADDRESS_WINDOW + timedelta(minutes=1))
    assert login(sprayer, "admin1").status_code == 303


def test_unlock_clears_the_pair_and_the_address(board):
    client = client_at(board, "10.1.1.3")
    for number in range(logins.ADDRESS_LIMIT):
        login(client, "super1" if number < 10 else f"guess{number}", "wrong-password")
    assert login(client, "super1").status_code == 401
    with transaction(board.sessions) as session:
        assert users.unlock(session, username="super1", now=board.clock.now())
    assert login(client, "super1").status_code == 303


def test_a_failed_login_logs_a_digest_not_the_name(board):
    client = board.client()
    with capture_logs() as logs:
        login(client, "my-secret-password-typed-here", "x")
    [event] = [entry for entry in logs if entry["event"] == "web.login_failed"]
    assert "my-secret-password-typed-here" not in repr(logs)
    assert event["user"] == logins.name_digest("my-secret-password-typed-here")


@pytest.mark.parametrize(("password", "fragment"), [
    ("12345678", "digits only"), ("１２３４５６７８９", "digits only"), ("short1", "at least 8"),
    ("pass\x00word-long", "control characters"),
])
def test_weak_passwords_are_refused_with_a_clear_message(sessions, password, fragment):
    with transaction(sessions) as session, pytest.raises(users.UserError) as raised:
        users.add_user(session, username="weak", role="admin", password=password, now=NOW)
    assert fragment in raised.value.message


def test_login_form_without_session_still_sets_csrf(board):
    client = board.client()
    assert csrf_from(client.get("/login").text)
