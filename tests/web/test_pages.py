"""Projects, evaluation, reports, registry upload, health, metrics and the Twilio callbacks."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Notification, Project, TickRun
from deadline_watch.web import create_app

from .conftest import NOW, csrf_from

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "deadline_watch" / "data" / "registry_sample.csv"


def test_project_board_shows_each_milestone_as_a_light(board):
    html = board.login("viewer1").get("/projects").text
    assert "GX-2026-001" in html and "天府软件园三期建设" in html
    assert 'class="node red"' in html and 'class="node yellow"' in html and 'class="node green"' in html
    assert "GX-2026-004" in html  # every active project, whatever its escalations


def test_project_board_filters_by_unit_and_level(board):
    client = board.login("viewer1")
    html = client.get("/projects", params={"unit": "住房建设局"}).text
    assert "GX-2026-003" in html and "GX-2026-001" not in html
    html = client.get("/projects", params={"level": "省级"}).text
    assert "GX-2026-001" in html and "GX-2026-002" not in html
    assert "在建项目 5 个" in client.get("/projects", params={"light": "red"}).text
    assert "在建项目 0 个" in client.get("/projects", params={"light": "green", "unit": "NOPE"}).text


def test_project_page_lists_milestones_reminders_escalations_and_masks_mobiles_for_viewers(board):
    html = board.login("viewer1").get("/projects/GX-2026-001").text
    assert "验收结项" in html and "已送达" in html and "/escalations/" in html
    assert board.seeded.owner_mobile not in html and "+86139****5678" in html
    for name in ("super1", "admin1"):
        assert f'href="tel:{board.seeded.owner_mobile}"' in board.login(name).get("/projects/GX-2026-001").text


def test_unknown_project_is_404(board):
    assert board.login("viewer1").get("/projects/NOPE").status_code == 404
    assert board.login("viewer1").get("/api/projects/NOPE").status_code == 404


def test_api_projects_give_lights(board):
    client = board.login("viewer1")
    body = client.get("/api/projects", params={"level": "省级"}).json()
    assert body["total"] == 1 and body["items"][0]["light"] == "red"
    detail = client.get("/api/projects/GX-2026-001").json()
    assert [m["light"] for m in detail["milestones"]] == ["red", "yellow", "green"]
    assert detail["escalations"][0]["level"] == 2


def test_evaluation_page_has_tables_and_an_svg_chart(board):
    html = board.login("viewer1").get("/evaluation", params={"start": "2026-10-01", "end": "2026-11-30"}).text
    assert "<svg" in html and "按时完成率" in html
    assert "新经济发展局" in html and "合计" in html
    assert "+86139****5678" in html or "王责任" in html


def test_evaluation_refuses_a_reversed_period(board):
    client = board.login("viewer1")
    assert client.get("/evaluation", params={"start": "2026-11-30", "end": "2026-11-01"}).status_code == 400
    assert client.get("/api/evaluation", params={"start": "bad"}).status_code == 400


def test_api_evaluation_counts_still_overdue_per_unit(board):
    body = board.login("viewer1").get("/api/evaluation", params={"start": "2026-10-01", "end": "2026-11-30"}).json()
    units = {row["name"]: row for row in body["units"]}
    assert units["生态环境局"]["still_overdue"] == 2
    assert all("****" in (row["mobile"] or "****") for row in body["officials"])


def test_reports_page_and_weekly_xlsx_download_reads_back(board):
    client = board.login("viewer1")
    assert "每周调度" in client.get("/reports").text
    response = client.get("/reports/weekly.xlsx", params={"at": "2026-11-23"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames[0] == "调度清单"
    cells = [str(c.value) for row in workbook["调度清单"].iter_rows() for c in row if c.value is not None]
    assert "天府软件园三期建设" in cells and "二级督办" in cells and "待处理" in cells


def test_monthly_csv_download_and_unknown_report(board):
    client = board.login("super1")
    response = client.get("/reports/monthly.csv", params={"at": "2026-12-01"})
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    assert client.get("/reports/yearly.xlsx").status_code == 400
    assert client.get("/reports/weekly.pdf").status_code == 400
    assert client.get("/reports/weekly.csv", params={"at": "31/12/2026"}).status_code == 400


def test_import_page_is_for_admins_only(board):
    assert board.login("super1").get("/admin/import").status_code == 403
    assert board.login("viewer1").get("/admin/import").status_code == 403
    assert board.login("admin1").get("/admin/import").status_code == 200


def upload(client, content: bytes, *, dry_run: bool, filename="清单.csv"):
    token = csrf_from(client.get("/admin/import").text)
    data = {"csrf_token": token}
    if dry_run:
        data["dry_run"] = "1"
    return client.post("/admin/import", data=data, files={"registry": (filename, content, "text/csv")})


def test_import_dry_run_shows_errors_with_line_and_column(board):
    client = board.login("admin1")
    broken = SAMPLE.read_bytes().replace(b",2026-10-21,", b",2026-13-45,", 1)
    response = upload(client, broken, dry_run=True)
    assert response.status_code == 400
    assert "处问题" in response.text and "截止日期" in response.text and "2026-13-45" in response.text


def test_import_writes_the_sample_registry(board):
    client = board.login("admin1")
    response = upload(client, SAMPLE.read_bytes(), dry_run=False)
    assert response.status_code == 200, response.text
    assert "已导入" in response.text
    with transaction(board.sessions) as session:
        assert session.scalar(select(Project).where(Project.code == "GX-2026-0001")) is not None


def test_import_without_csrf_is_refused(board):
    client = board.login("admin1")
    response = client.post("/admin/import", files={"registry": ("a.csv", b"x", "text/csv")})
    assert response.status_code == 403


def test_healthz_reports_database_schema_and_last_tick(board):
    with transaction(board.sessions) as session:
        session.add(TickRun(kind="scan", started_at=NOW, finished_at=NOW, counts={}))
    body = board.client().get("/healthz").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["schema"] == "ok"
    assert body["last_tick"].startswith("2026-11-23T02:00")


def test_healthz_shows_a_provider_account_refusal_until_a_pass_sends_again(board):
    from datetime import timedelta

    with transaction(board.sessions) as session:
        session.add(TickRun(kind="delivery", started_at=NOW, finished_at=NOW,
                            counts={"delivery": "ok", "sent": 0, "account_error": "isv.AMOUNT_NOT_ENOUGH"}))
    refused = board.client().get("/healthz")
    assert refused.status_code == 503 and "isv.AMOUNT_NOT_ENOUGH" in refused.json()["sms"]
    with transaction(board.sessions) as session:
        later = NOW + timedelta(minutes=1)
        session.add(TickRun(kind="delivery", started_at=later, finished_at=later,
                            counts={"delivery": "ok", "sent": 3, "account_error": None}))
    recovered = board.client().get("/healthz")
    assert recovered.status_code == 200 and recovered.json()["sms"] == "ok"


def test_healthz_fails_on_a_database_without_schema(tmp_path):
    from fastapi.testclient import TestClient

    from deadline_watch.core.context import AppContext
    from deadline_watch.core.db import make_engine

    from .conftest import board_settings

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(AppContext(board_settings(), engine_override=engine))
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_metrics_expose_notifications_escalations_and_latency(board):
    with transaction(board.sessions) as session:
        session.add(TickRun(kind="scan", started_at=NOW, finished_at=NOW, counts={}))
    text = board.client().get("/metrics").text
    assert 'deadline_watch_notifications{state="delivered"} 4.0' in text
    assert 'deadline_watch_escalations_open{level="1"} 3.0' in text
    assert 'deadline_watch_escalations_open{level="2"} 1.0' in text
    assert 'deadline_watch_ticks_total{kind="scan"} 1.0' in text
    assert 'deadline_watch_sms_latency_seconds_bucket{le="60.0"} 5.0' in text


def twilio_board(board):
    settings = board.app_context.settings
    settings = settings.model_copy(update={
        "twilio": settings.twilio.model_copy(update={"auth_token": "tw-test-token"}),
        "web": settings.web.model_copy(update={"public_url": "https://board.example.gov.cn"}),
    })
    from fastapi.testclient import TestClient

    from deadline_watch.core.context import AppContext

    context = AppContext(settings, clock=board.clock, engine_override=board.app_context.engine)
    return TestClient(create_app(context))


def test_twilio_status_callback_needs_a_valid_signature_and_no_login(board):
    with transaction(board.sessions) as session:
        row = session.scalars(select(Notification).where(Notification.state == "failed")).first()
        row.state, row.provider_message_id, row.delivered_at = "sent", "SM" + "1" * 32, None
    client = twilio_board(board)
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    assert client.post("/twilio/status", data=params).status_code == 403
    signature = RequestValidator("tw-test-token").compute_signature(
        "https://board.example.gov.cn/twilio/status", params)
    response = client.post("/twilio/status", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code in (200, 204)
    with transaction(board.sessions) as session:
        assert session.scalars(select(Notification).where(
            Notification.provider_message_id == "SM" + "1" * 32)).one().state == "delivered"


def test_twilio_inbound_refuses_unsigned_requests(board):
    response = twilio_board(board).post("/twilio/inbound", data={"From": "+8613912345678", "Body": "STOP"})
    assert response.status_code == 403


def test_import_page_of_a_hostile_file_is_bounded(board):
    client = board.login("admin1")
    x_lines = ("项目编号,项目名称,责任单位,责任人,责任人手机,节点,截止日期\n" + "x\n" * 500_000).encode()
    response = upload(client, x_lines, dry_run=False)
    assert response.status_code == 400
    assert len(response.content) < 2_000_000
    assert "行未检查" in response.text and "未写入" in response.text
