"""The 通报 from the board: a .docx download and an HTML print view styled by a stylesheet file (CSP)."""

from __future__ import annotations

from io import BytesIO

from docx import Document


def test_bulletin_docx_download_has_the_months_figures(board) -> None:
    client = board.login("viewer1")
    response = client.get("/reports/bulletin.docx", params={"at": "2026-11-23"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="bulletin-2026-10.docx"'
    text = "\n".join(p.text for p in Document(BytesIO(response.content)).paragraphs)
    # October: GX-2026-001 组织实施, due 10-24, still overdue
    assert "本月到期节点 1 个,按期完成 0 个,按期完成率 0.0%" in text


def test_bulletin_print_view_links_its_stylesheet_and_reports_page_offers_it(board) -> None:
    client = board.login("super1")
    html = client.get("/reports/bulletin.html").text
    assert '<link rel="stylesheet" href="/reports/bulletin.css">' in html and "<style>" not in html
    css = client.get("/reports/bulletin.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert 'action="/reports/bulletin.docx"' in client.get("/reports").text
    assert client.get("/reports/bulletin.pdf").status_code == 400
