"""The project page shows its 体检 score, band and reasons."""

from __future__ import annotations


def test_project_page_shows_score_band_and_reasons(board) -> None:
    client = board.login("viewer1")
    html = client.get("/projects/GX-2026-001").text
    # 组织实施 30 days overdue: 1.5 x 30 = 45; level 2 reached: 10 -> 45 (严重)
    assert "项目体检" in html
    assert "45 分" in html
    assert "严重" in html
    assert "组织实施逾期 30 天, 已达二级督办" in html


def test_project_on_track_is_healthy(board) -> None:
    client = board.login("viewer1")
    html = client.get("/projects/GX-2026-004").text
    # 3 days overdue on 组织实施 (4.5), level 1 (5): 90.5 -> 91 健康; the resolved item still counts
    assert "91 分" in html and "健康" in html
