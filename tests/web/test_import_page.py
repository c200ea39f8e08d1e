"""/admin/import: 正式导入 right after a clean dry run, without picking the file again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Milestone, Project

from .conftest import csrf_from
from .test_pages import SAMPLE, upload


def commit(client, page_html: str):
    token = csrf_from(page_html)
    checked = page_html.split('name="checked" value="', 1)[1].split('"', 1)[0]
    return client.post("/admin/import/commit", data={"csrf_token": token, "checked": checked})


def projects(board) -> int:
    with transaction(board.sessions) as session:
        return session.scalar(select(func.count(Project.id)))


def test_clean_dry_run_offers_import_and_commits_the_checked_file(board):
    client = board.login("admin1")
    before = projects(board)
    checked = upload(client, SAMPLE.read_bytes(), dry_run=True)
    assert checked.status_code == 200 and "校验通过" in checked.text and 'id="commit-import"' in checked.text
    assert projects(board) == before
    done = commit(client, checked.text)
    assert done.status_code == 200 and "已导入" in done.text and 'id="commit-import"' not in done.text
    assert projects(board) == before + 30
    again = commit(client, checked.text)  # taken: a second 正式导入 of the same check is refused
    assert again.status_code == 400 and "重新上传" in again.text


def test_failed_dry_run_offers_no_import(board):
    client = board.login("admin1")
    broken = SAMPLE.read_bytes().replace(b",2026-10-21,", b",2026-13-45,", 1)
    response = upload(client, broken, dry_run=True)
    assert response.status_code == 400 and 'id="commit-import"' not in response.text


def test_checked_file_is_bound_to_the_admin_who_checked_it_and_expires(board):
    from deadline_watch.board import users
    from deadline_watch.web.checked_uploads import TTL

    from .conftest import NOW, PASSWORD

    with transaction(board.sessions) as session:
        users.add_user(session, username="admin2", role="admin", password=PASSWORD, now=NOW)
    first = board.login("admin1")
    checked = upload(first, SAMPLE.read_bytes(), dry_run=True).text
    other = board.login("admin2")
    stolen = other.post("/admin/import/commit", data={
        "csrf_token": csrf_from(other.get("/admin/import").text),
        "checked": checked.split('name="checked" value="', 1)[1].split('"', 1)[0]})
    assert stolen.status_code == 400 and projects(board) == 5
    board.clock.advance(TTL + timedelta(minutes=1))
    late = commit(first, checked)
    assert late.status_code == 400 and "过期" in late.text and projects(board) == 5


def test_dry_run_page_flags_completed_milestones_reopened(board):
    client = board.login("admin1")
    upload(client, SAMPLE.read_bytes(), dry_run=False)
    with transaction(board.sessions) as session:
        milestone = session.scalars(select(Milestone).join(Project).where(
            Project.code == "GX-2026-0001", Milestone.completed_on.is_(None))).first()
        milestone.status, milestone.completed_on = "completed", milestone.due_date
        name = milestone.name
    response = upload(client, SAMPLE.read_bytes(), dry_run=True)
    assert "已完成节点被重新打开" in response.text and f"GX-2026-0001/{name}" in response.text
