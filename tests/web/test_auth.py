"""Login, sessions, CSRF, API tokens and brute-force slowing on the board."""

from __future__ import annotations

from sqlalchemy import select

from deadline_watch.board import users
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import User
from deadline_watch.web.auth import SESSION_COOKIE

from .conftest import PASSWORD, csrf_from, login

PAGES = ["/", "/projects", "/projects/GX-2026-001", "/escalations/1", "/evaluation", "/reports",
         "/reports/weekly.xlsx", "/admin/import"]
API = ["/api/me", "/api/escalations", "/api/escalations/1", "/api/projects", "/api/projects/GX-2026-001",
       "/api/evaluation", "/api/openapi.json"]


def test_pages_redirect_to_login_without_a_session(board):
    client = board.client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_api_answers_401_without_login(board):
    client = board.client()
    for path in API:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    response = client.post("/api/escalations/1/acknowledge")
    assert response.status_code == 401


def test_open_endpoints_need_no_login(board):
    client = board.client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/login").status_code == 200


def test_login_sets_an_httponly_samesite_session_cookie_and_lands_on_next(board):
    client = board.client()
    token = csrf_from(client.get("/login?next=/projects").text)
    response = client.post("/login", data={"username": "super1", "password": PASSWORD, "csrf_token": token,
                                           "next": "/projects"})
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/projects").status_code == 200


def test_login_refuses_a_missing_csrf_token(board):
    client = board.client()
    client.get("/login")
    response = client.post("/login", data={"username": "super1", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/").status_code == 303


def test_login_does_not_follow_an_offsite_next(board):
    client = board.client()
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "super1", "password": PASSWORD, "csrf_token": token,
                                           "next": "//evil.example/"})
    assert response.headers["location"] == "/"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(board):
    client = board.client()
    wrong = login(client, "super1", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text


def test_a_tampered_session_cookie_is_treated_as_logged_out(board):
    client = board.login("super1")
    value = client.cookies.get(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/").status_code == 303


def test_logout_needs_the_csrf_token_and_ends_the_session(board):
    client = board.login("super1")
    page = client.get("/").text
    assert client.post("/logout", data={}).status_code == 303
    assert client.get("/").status_code == 200  # no token: still logged in
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_api_token_authenticates_without_cookie_or_csrf(board):
    with transaction(board.sessions) as session:
        token = users.issue_api_token(session, username="super1", now=board.clock.now())
    client = board.client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).json()["username"] == "super1"
    escalation_id = board.seeded.escalation_ids[0]
    response = client.post(f"/api/escalations/{escalation_id}/acknowledge", headers=headers)
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"


def test_a_wrong_api_token_gets_401(board):
    response = board.client().get("/api/escalations", headers={"Authorization": "Bearer dw_nonsense"})
    assert response.status_code == 401


def test_a_deactivated_user_loses_the_session(board):
    client = board.login("super1")
    with transaction(board.sessions) as session:
        session.scalars(select(User).where(User.username == "super1")).one().active = False
    assert client.get("/").status_code == 303


def test_responses_carry_security_headers(board):
    response = board.client().get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_showing_the_login_form_does_not_end_a_session(board):
    client = board.login("super1")
    assert client.get("/login").status_code == 200
    assert client.get("/").status_code == 200


def test_changing_the_password_ends_existing_sessions(board):
    client = board.login("super1")
    with transaction(board.sessions) as session:
        user = session.scalars(select(User).where(User.username == "super1")).one()
        user.password_hash = users.hash_password("a-new-password")
    assert client.get("/").status_code == 303
