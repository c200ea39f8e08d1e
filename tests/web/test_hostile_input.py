"""Hostile input at the board's edges: oversized bodies (413 before anything else), NUL and
control characters (400 on both databases), dates beyond any deadline, LIKE wildcards,
project codes that need encoding in links, webhooks without a public URL."""

from __future__ import annotations

import select
import socket
from urllib.parse import quote

import pytest
from structlog.testing import capture_logs

import factories
from deadline_watch.core.db import transaction
from deadline_watch.web import create_app
from deadline_watch.web.guard import UPLOAD_LIMIT, body_limit_for

from .conftest import board_settings
from .test_e2e_browser import LiveServer

MB = 1024 * 1024


def send_huge(port: int, path: str, *, chunked: bool, total: int = 300 * MB) -> tuple[int, int]:
    """POST up to `total` bytes to `path`; returns (status, bytes sent before the answer)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    connection.sendall(head.encode())
    block = b"a" * (64 * 1024)
    piece = (f"{len(block):x}\r\n".encode() + block + b"\r\n") if chunked else block
    sent = 0
    answer = b""
    try:
        while sent < total:
            readable, writable, _ = select.select([connection], [connection], [], 10)
            if readable:
                break
            if writable:
                connection.sendall(piece)
                sent += len(block)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        answer = connection.recv(200)
    finally:
        connection.close()
    return int(answer.split()[1]), sent


@pytest.fixture
def live_board(board):
    board.app_context.settings = board_settings(public_url="https://dub.example.gov.cn")
    with LiveServer(create_app(board.app_context)) as server:
        yield server


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", ["/login", "/twilio/status", "/admin/import", "/api/escalations/1/notes"])
@pytest.mark.parametrize("chunked", [False, True])
def test_a_300_mb_body_is_refused_413_before_it_is_read(live_board, path, chunked):
    status, sent = send_huge(live_board.port, path, chunked=chunked)
    print(f"{path} chunked={chunked}: 413 after {sent // 1024} KB sent")
    assert status == 413
    assert sent < body_limit_for(path, multipart=True) + 32 * MB  # what the socket buffers hold, not 300 MB


def test_limits_are_small_for_login_and_webhooks_and_the_upload_limit_for_imports():
    assert body_limit_for("/login") <= 16 * 1024 and body_limit_for("/twilio/inbound") <= 64 * 1024
    assert body_limit_for("/admin/import", multipart=True) > UPLOAD_LIMIT
    assert body_limit_for("/admin/import") <= 256 * 1024  # only an upload may be large there


def test_an_upload_streams_to_its_route_and_is_cut_at_its_limit(board):
    client = board.login("admin1")
    token = client.get("/admin/import").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/admin/import", data={"csrf_token": token},
                           files={"registry": ("big.csv", b"x" * (UPLOAD_LIMIT + 200 * 1024), "text/csv")})
    assert response.status_code == 413


NUL_REQUESTS = [
    ("get", "/?q=%00", None),
    ("get", "/?unit=%00", None),
    ("get", "/projects?q=a%00b", None),
    ("get", "/projects/GX-2026-001%00", None),
    ("get", "/api/escalations?q=%00", None),
    ("get", "/api/projects?q=%01", None),
    ("get", "/api/projects/GX%00", None),
    ("post", "/api/escalations/1/notes", {"json": {"text": "a\x00b"}}),
    ("post", "/api/escalations/1/assign", {"json": {"assignee": "super1\x00"}}),
]


@pytest.mark.parametrize(("method", "url", "extra"), NUL_REQUESTS)
def test_nul_and_control_characters_are_refused_400(board, method, url, extra):
    client = board.login("admin1")
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    response = getattr(client, method)(url, **(extra or {}))
    assert response.status_code == 400, response.text[:200]
    assert "control character" in response.text


def test_nul_in_the_login_form_is_refused_before_any_login(board):
    client = board.client()
    client.get("/login")
    response = client.post("/login", data={"username": "admin\x001", "password": "x", "csrf_token": "t"})
    assert response.status_code == 400


def test_free_text_keeps_its_newlines_and_tabs(board):
    client = board.login("admin1")
    token = client.get("/api/me").json()["csrf_token"]
    escalation = board.seeded.escalation_ids[0]
    response = client.post(f"/api/escalations/{escalation}/notes", json={"text": "第一行\n\t第二行"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and "第一行\\n\\t第二行" in response.text


@pytest.mark.parametrize("q", ["%", "_", "GX_2026", "%%"])
def test_search_wildcards_match_only_themselves(board, q):
    client = board.login("admin1")
    assert client.get("/api/escalations", params={"q": q, "state": "all"}).json()["total"] == 0
    assert client.get("/api/projects", params={"q": q}).json()["total"] == 0
    assert client.get("/api/escalations", params={"q": "GX-2026", "state": "all"}).json()["total"] == 5


@pytest.mark.parametrize("url", [
    "/reports/weekly.xlsx?at=9999-12-31", "/reports/weekly.csv?at=0001-01-01", "/reports/monthly.xlsx?at=٢٠٢٦-١١-٠١",
    "/evaluation?start=9999-12-01&end=9999-12-31", "/api/evaluation?start=0001-01-01",
])
def test_dates_beyond_2000_2100_are_a_clear_400(board, url):
    response = board.login("admin1").get(url)
    assert response.status_code == 400
    assert "2000-2100" in response.text


def test_project_codes_are_encoded_in_links_and_their_pages_open(board):
    with transaction(board.sessions) as session:
        project = factories.project(session, "GX 1#x?y", name="编码测试")
        factories.milestone(session, factories_date(), project_=project, name="节点")
    client = board.login("admin1")
    listing = client.get("/projects", params={"q": "编码测试"}).text
    assert f'href="/projects/{quote("GX 1#x?y", safe="")}"' in listing
    assert client.get(f"/projects/{quote('GX 1#x?y', safe='')}").status_code == 200
    assert client.get(f"/api/projects/{quote('GX 1#x?y', safe='')}").json()["code"] == "GX 1#x?y"


def factories_date():
    from .conftest import TODAY

    return TODAY


@pytest.mark.parametrize("path", ["/twilio/status", "/twilio/inbound"])
def test_webhooks_are_refused_503_without_a_public_url(board, path):
    with capture_logs() as logs:
        response = board.client().post(path, data={"MessageSid": "SM1", "MessageStatus": "delivered"},
                                       headers={"Host": "evil.example", "X-Twilio-Signature": "x"})
    assert response.status_code == 503
    assert any(entry["event"] == "web.webhook_refused" for entry in logs)
