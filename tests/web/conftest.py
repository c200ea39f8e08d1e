"""Fixtures of the board tests: a seeded database, the app over it, logged-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import factories
from deadline_watch.board import users
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Escalation, Notification
from deadline_watch.web import create_app

# 2026-11-23 10:00 in Shanghai
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
PASSWORD = "correct-horse-1"
SECRET = "test-secret-key-for-the-board-0123456789"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with test-sized cost: the rules are the same, the suite stays quick."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def board_settings(**web) -> Settings:
    return Settings.model_validate({"web": {"secret_key": SECRET, **web}})


@dataclass
class Seeded:
    escalation_ids: list[int]
    project_codes: list[str]
    owner_mobile: str


def seed_board(session: Session) -> Seeded:
    """Three units, five projects, overdue milestones with escalations in each state, SMS rows."""
    ids: list[int] = []
    codes: list[str] = []
    owner = factories.person(session, name="王责任", mobile="+8613912345678")
    plans = [
        ("GX-2026-001", "天府软件园三期建设", "新经济发展局", "省级", 30, 2, "open"),
        ("GX-2026-002", "科学城污水处理厂扩建", "生态环境局", "市级", 10, 1, "open"),
        ("GX-2026-003", "创新中心人才公寓", "住房建设局", "区级", 5, 1, "acknowledged"),
        ("GX-2026-004", "智慧交通信号改造", "新经济发展局", "市级", 3, 1, "resolved"),
        ("GX-2026-005", "中和片区学校新建", "生态环境局", "市级", 1, 1, "open"),
    ]
    for code, name, unit_name, level, days, esc_level, state in plans:
        project = factories.project(session, code, name=name, unit_name=unit_name, level=level,
                                    owner=owner if code == "GX-2026-001" else None)
        due = TODAY - timedelta(days=days)
        milestone = factories.milestone(session, due, project_=project, name="组织实施")
        factories.milestone(session, TODAY + timedelta(days=3), project_=project, name="阶段成果")
        factories.milestone(session, TODAY + timedelta(days=40), project_=project, name="验收结项")
        escalation = Escalation(
            dedup_key=f"esc:{milestone.id}:{due.isoformat()}", milestone_id=milestone.id, reason="overdue",
            due_date=due, level=esc_level, state=state, opened_at=NOW - timedelta(days=days - 1),
            resolution="waived" if state == "resolved" else None,
            resolved_at=NOW if state == "resolved" else None,
        )
        session.add(escalation)
        session.add(Notification(
            dedup_key=f"sms:{milestone.id}:{due.isoformat()}:1", milestone_id=milestone.id, rule="escalation",
            level=1, due_date=due, days_left=-days, recipient_id=project.owner_id, to_number=project.owner.mobile,
            body="【高新区督办】您负责的节点已逾期", segments=1,
            state="delivered" if code != "GX-2026-002" else "failed",
            attempts=1, next_attempt_at=NOW - timedelta(days=1), created_at=NOW - timedelta(days=1, minutes=1),
            sent_at=NOW - timedelta(days=1), delivered_at=NOW - timedelta(days=1) if code != "GX-2026-002" else None,
            updated_at=NOW - timedelta(days=1),
        ))
        session.flush()
        ids.append(escalation.id)
        codes.append(code)
    for name, role in (("admin1", "admin"), ("super1", "supervisor"), ("super2", "supervisor"), ("viewer1", "viewer")):
        users.add_user(session, username=name, role=role, password=PASSWORD, now=NOW)
    return Seeded(escalation_ids=ids, project_codes=codes, owner_mobile="+8613912345678")


@dataclass
class Board:
    app_context: AppContext
    sessions: sessionmaker[Session]
    seeded: Seeded
    clock: FixedClock

    def client(self) -> TestClient:
        return TestClient(create_app(self.app_context), base_url="http://testserver", follow_redirects=False)

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        response = login(client, username, password)
        assert response.status_code == 303, response.text
        return client


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def board(sessions: sessionmaker[Session], engine) -> Board:
    with transaction(sessions) as session:
        seeded = seed_board(session)
    clock = FixedClock(NOW)
    app_context = AppContext(board_settings(), clock=clock, engine_override=engine)
    return Board(app_context=app_context, sessions=sessions, seeded=seeded, clock=clock)


@pytest.fixture
def admin_client(board):
    """A signed-in admin's client that sends its CSRF token with every request (API tests)."""
    client = board.client()
    assert login(client, "admin1", PASSWORD).status_code == 303
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client
