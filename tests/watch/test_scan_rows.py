"""The outbox rows a scan writes, column by column, pinned to what the scan wrote before
issue 17's reminder fast path (tests/watch/scan_rows.json, written by the code at fb6f4b8).

A varied registry — an official with many milestones, a milestone owner override, long
names that need shortening, lead leaders and supervisors, opted-out and unreachable
people, a recurring task, milestones waiting for review, a pending reminder superseded by a
more urgent one — is scanned at several instants under three settings (calendar days,
working days with personal links, a contact and three thresholds). Every column of every
notification row (the JSON text of `template_params` as stored, too) must equal the pinned
one on SQLite and on PostgreSQL.

Regenerate only on purpose, with the code whose rows are the reference:
`PYTHONPATH=src python tests/watch/test_scan_rows.py` (needs PostgreSQL for its half).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.domain.models import Milestone, Notification, Person, PersonLink, Project, Unit
from deadline_watch.watch.service import run_scan

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from watch_support import at, fast_settings  # noqa: E402

PINNED = Path(__file__).with_name("scan_rows.json")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
LONG_PROJECT = "成都高新区天府国际生物城重大科技基础设施配套道路及综合管廊建设工程二期项目"
LONG_NODE = "完成施工图设计审查及施工许可证办理并组织开展施工总承包招标投标工作"
LONG_CODE = "GX-2026-重点-0000000001-B"
CONTACT = "督查室 028-85123456"


def _settings(kind: str) -> Settings:
    if kind == "calendar":
        return fast_settings()
    if kind == "workdays":
        return fast_settings(reminders__day_mode="workdays", reminders__days_before=[5, 2],
                             web__public_url="https://dw.example.cn/", web__secret_key="pinned-secret")
    return fast_settings(reminders__days_before=[7, 3, 1], sms__contact=CONTACT)


# each scenario: settings, then the instants scanned one after the other
SCENARIOS: dict[str, list[datetime]] = {
    "calendar": [at(date(2026, 12, 1), 9), at(date(2026, 12, 4), 21), at(date(2026, 12, 9), 7)],
    "workdays": [at(date(2026, 12, 4), 21), at(date(2026, 12, 8), 10)],  # a Friday evening, then Tuesday
    "thresholds": [at(date(2026, 12, 1), 9), at(date(2026, 12, 5), 9), at(date(2026, 12, 7), 23)],
}


def build_registry(session: Session) -> None:
    """The same rows on every backend (explicit names, mobiles and codes: no counters)."""
    units = [Unit(name=name, created_at=EPOCH) for name in ("新经济发展局", "成都高新区生态环境和城市管理局", "科技创新局")]
    session.add_all(units)
    session.flush()

    def person(name: str, mobile: str | None, roles: str = "owner", opted_out: bool = False) -> Person:
        created = Person(name=name, mobile=mobile, roles=roles, unit_id=units[0].id, created_at=EPOCH,
                         opted_out_at=EPOCH if opted_out else None)
        session.add(created)
        return created

    busy = person("王伟", "+8613800138000")  # many milestones
    other = person("欧阳娜娜", "+8613900139001")
    long_name = person("阿卜杜热合曼·买买提明", "+8613700137002")
    opted = person("李娜", "+8613600136003", opted_out=True)
    silent = person("张敏", None)
    override = person("刘洋", "+8615800158004")
    leader = person("赵书记", "+8618600186005", roles="leader")
    person("周督查", "+8613500135006", roles="supervisor")
    person("吴督查", "+8613500135007", roles="owner supervisor")
    session.flush()

    def project(code: str, name: str, unit: Unit, owner: Person, *, leader_: Person | None = None,
                status: str = "active", schedule: str = "") -> Project:
        created = Project(code=code, name=name, unit_id=unit.id, owner_id=owner.id,
                          lead_leader_id=leader_.id if leader_ else None, level="市级", status=status,
                          schedule=schedule, created_at=EPOCH, updated_at=EPOCH)
        session.add(created)
        session.flush()
        return created

    def milestone(parent: Project, name: str, due: date, *, position: int = 0, owner: Person | None = None,
                  completed_on: date | None = None, status: str = "open", review: bool = False) -> Milestone:
        created = Milestone(project_id=parent.id, name=name, position=position, due_date=due,
                            owner_id=owner.id if owner else None, completed_on=completed_on, status=status,
                            review_pending_since=EPOCH if review else None, created_at=EPOCH, updated_at=EPOCH)
        session.add(created)
        return created

    software = project("GX-2026-0001", "天府软件园三期建设", units[0], busy, leader_=leader)
    for offset in range(12):  # one official, a milestone on each day of the window and around it
        milestone(software, f"节点{offset}", date(2026, 12, 1 + offset), position=offset)
    milestone(software, "已完成节点", date(2026, 12, 3), position=20, completed_on=date(2026, 11, 30),
              status="completed")
    milestone(software, "待审核节点", date(2026, 12, 4), position=21, review=True)
    milestone(software, "改派节点", date(2026, 12, 5), position=22, owner=override)
    milestone(software, "已撤销节点", date(2026, 12, 6), position=23, status="cancelled")
    long = project(LONG_CODE, LONG_PROJECT, units[1], long_name, leader_=leader)
    milestone(long, LONG_NODE, date(2026, 12, 2))
    milestone(long, LONG_NODE + "及验收", date(2026, 12, 8), position=1)
    milestone(long, "短", date(2026, 11, 20), position=2)  # overdue: escalations to all parties
    milestone(long, LONG_NODE + "(二)", date(2026, 11, 29), position=3)
    shared = project("GX-2026-0003", "科创岛", units[2], other)
    milestone(shared, "组织实施", date(2026, 12, 3))
    milestone(shared, "竣工验收", date(2026, 12, 3), position=1)  # same official, same day
    milestone(shared, "逾期节点", date(2026, 11, 30), position=2)
    milestone(project("GX-2026-0004", "退订者的项目", units[0], opted), "组织实施", date(2026, 12, 2))
    milestone(project("GX-2026-0005", "无手机号的项目", units[0], silent, leader_=leader), "组织实施",
              date(2026, 11, 25))
    milestone(project("GX-2026-0006", "暂停项目", units[0], other, status="suspended"), "组织实施", date(2026, 12, 2))
    monthly = project("GX-2026-0007", "报送重点项目推进情况", units[0], other, schedule="monthly:10")
    milestone(monthly, "2026年11月", date(2026, 11, 10), completed_on=date(2026, 11, 9), status="completed")
    session.flush()
    for holder in (busy, other, long_name, override, leader):  # fixed nonces: the same links every run
        session.add(PersonLink(person_id=holder.id, token_hash=f"{holder.id:064d}", nonce=f"nonce-{holder.id}",
                               mobile=holder.mobile, created_at=EPOCH, last_sent_at=EPOCH))


def scanned_rows(url: str, kind: str) -> list[dict]:
    """Build the registry at `url`, run the scenario's scans, return every outbox row."""
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    try:
        with db.transaction(sessions) as session:
            build_registry(session)
        settings = _settings(kind)
        for now in SCENARIOS[kind]:
            run_scan(sessions, settings, now=now)
        return outbox_rows(engine)
    finally:
        engine.dispose()


def outbox_rows(engine: sa.Engine) -> list[dict]:
    """Every column as read back, plus `template_params` as the database holds the text."""
    table = Notification.__table__
    as_text = sa.cast(table.c.template_params, sa.Text).label("template_params_text")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table, as_text).order_by(table.c.dedup_key)).mappings().all()
    return [{name: _plain(value) for name, value in row.items()} for row in rows]


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return str(value)
    return value


def _compare(backend: str, kind: str, rows: list[dict]) -> None:
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))[backend][kind]
    assert [row["dedup_key"] for row in rows] == [row["dedup_key"] for row in pinned]
    for row, expected in zip(rows, pinned, strict=True):
        for column, value in expected.items():
            assert row[column] == value, (row["dedup_key"], column)
        assert set(row) == set(expected)


@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_scans_write_the_pinned_outbox_rows_column_by_column(db_url, backend, kind):
    _compare(backend, kind, scanned_rows(db_url, kind))


def _write_pinned() -> None:
    """Run every scenario on a fresh SQLite file and a fresh PostgreSQL schema; write the rows."""
    import shutil
    import tempfile
    import uuid

    from conftest import PG_URL

    pinned: dict[str, dict[str, list[dict]]] = {"sqlite": {}, "postgres": {}}
    folder = Path(tempfile.mkdtemp())
    template = folder / "template.db"
    engine = db.make_engine(f"sqlite:///{template}")
    db.upgrade(engine)
    engine.dispose()
    admin = db.make_engine(PG_URL)
    for kind in SCENARIOS:
        path = folder / f"{kind}.db"
        shutil.copyfile(template, path)
        pinned["sqlite"][kind] = scanned_rows(f"sqlite:///{path}", kind)
        schema = f"pin_{uuid.uuid4().hex[:10]}"
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            migrate = db.make_engine(url)
            db.upgrade(migrate)
            migrate.dispose()
            pinned["postgres"][kind] = scanned_rows(url, kind)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()
    PINNED.write_text(json.dumps(pinned, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print({backend: {kind: len(rows) for kind, rows in kinds.items()} for backend, kinds in pinned.items()})


if __name__ == "__main__":
    _write_pinned()
