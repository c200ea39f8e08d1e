"""The reports' web view is styled by a stylesheet file, so the board's CSP stays strict."""

from __future__ import annotations

from .conftest import TODAY


def test_report_web_view_links_its_stylesheet_and_the_csp_stays_strict(board):
    client = board.login("viewer1")
    response = client.get("/reports/weekly.html", params={"at": TODAY.isoformat()})
    assert response.status_code == 200
    assert "<style" not in response.text and 'style="' not in response.text
    assert '<link rel="stylesheet" href="/reports/report.css">' in response.text
    csp = response.headers["content-security-policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    css = client.get("/reports/report.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "th{background:#dde6f0}" in css.text


def test_written_report_file_keeps_its_style_inline(board):
    from deadline_watch.board.report_files import render
    from deadline_watch.board.report_tables import build_report
    from deadline_watch.core.db import transaction

    with transaction(board.sessions) as session:
        report = build_report(session, "weekly", at=TODAY, settings=board.app_context.settings)
    html = render(report, "html").decode()
    assert "<style>" in html and "report.css" not in html
