"""Importing into the real databases (SQLite and PostgreSQL): creation, idempotence,
updates with audit, --dry-run, --prune, --skip-invalid, atomicity, XLSX and export."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from registry_files import EN, NOW, SAMPLE, ZH, csv_bytes, project_rows, row, write_csv
from sqlalchemy import func, select

from deadline_watch.domain import audit
from deadline_watch.domain.models import AuditEvent, Milestone, Person, Project, Unit
from deadline_watch.registry import ImportOptions, export_path, import_bytes, import_path
from deadline_watch.registry.export import registry_rows

LATER = NOW + timedelta(days=7)


def counts(sessions) -> dict[str, int]:
    with sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Unit, Person, Project, Milestone, AuditEvent)
        }


def registry(sessions) -> list[list[object]]:
    with sessions() as session:
        return list(registry_rows(session))


def run(sessions, tmp_path: Path, rows: list[dict], *, now=NOW, name: str = "r.csv", **options):
    path = write_csv(tmp_path / name, rows)
    return import_path(sessions, path, now=now, options=ImportOptions(**options))


def test_sample_registry_imports_cleanly(sessions):
    report = import_path(sessions, SAMPLE, now=NOW)
    assert report.errors == []
    assert report.written and report.ok
    assert (report.projects_created, report.milestones_created) == (30, 120)
    assert report.encoding == "utf-8-sig"
    with sessions() as session:
        project = session.scalars(select(Project).where(Project.code == "GX-2026-0001")).one()
        assert project.name == "中和湿地公园人才公寓建设"
        assert project.unit.name == "新经济发展局"
        assert project.owner.mobile == "+8619800006866" and project.owner.has_role("owner")
        assert project.lead_leader.has_role("lead_leader")
        assert [m.name for m in project.milestones] == ["谋划立项", "组织实施", "阶段成果", "验收结项"]
        assert [m.position for m in project.milestones] == [1, 2, 3, 4]
        assert project.milestones[0].due_date == date(2026, 10, 21)
        assert project.status == "active" and project.created_at == NOW
        co_units = session.scalars(select(Project.co_units).where(Project.co_units != "")).all()
        assert co_units and all("," not in text for text in co_units)
    created = counts(sessions)["audit_events"]
    assert created == report.changed  # one audit event per created row


def test_reimporting_the_same_file_changes_nothing(sessions):
    import_path(sessions, SAMPLE, now=NOW)
    before = counts(sessions)
    report = import_path(sessions, SAMPLE, now=LATER)
    assert report.to_dict()["errors"] == []
    assert report.changed == 0 and report.changes == []
    assert (report.projects_unchanged, report.milestones_unchanged) == (30, 120)
    assert counts(sessions) == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
@pytest.mark.parametrize("headers", ["zh", "en"])
def test_clean_file_in_any_encoding_and_header_set_gives_the_same_registry(sessions, tmp_path, encoding, headers):
    rows = project_rows("GX-1") + project_rows("GX-2", owner="王五", owner_mobile="13900139000",
                                               co_units="发展改革局,投资服务局")
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes(rows, headers=ZH if headers == "zh" else EN, encoding=encoding))
    report = import_path(sessions, path, now=NOW)
    assert report.errors == []
    assert report.encoding == encoding
    exported = registry(sessions)
    assert len(exported) == 8
    assert exported[4][:8] == ["GX-2", "天府软件园三期", "新经济发展局", "郭刚", "189 0000 9807", "王五",
                               "139 0013 9000", "谋划立项"]
    assert exported[4][10] == "发展改革局、投资服务局"


@pytest.mark.parametrize(("encoding", "headers"), [("gb18030", "zh"), ("utf-8-sig", "en")])
def test_messy_file_imports_to_the_same_registry_as_a_clean_one(sessions, tmp_path, encoding, headers):
    clean = project_rows("GX-1", co_units="发展改革局、投资服务局")
    messy = [
        row(project_code=" GX-1\u3000", project_name="天府软件园三期 ", unit="\u00a0新经济发展局",
            lead_leader="郭\u3000刚", lead_leader_mobile="+86 189-0000-9807", owner=" 杜萍明",
            owner_mobile="１９８ ００００ ６８６６", milestone="谋划立项 ", due_date="2026/10/21",
            co_units="发展改革局， 投资服务局", level=" 市级"),
        row(milestone="组织实施", due_date="2026年12月27日", owner_mobile="86-19800006866",
            lead_leader_mobile="189 0000 9807", co_units="发展改革局;投资服务局"),
        {},  # a blank row
        row(milestone="阶段成果", due_date="2027.03.04", lead_leader_mobile="18900009807",
            co_units=" 发展改革局 ；投资服务局"),
        row(milestone="验收结项", due_date="２０２７－０５－０６", co_units="发展改革局,投资服务局,发展改革局"),
    ]
    if headers == "zh":
        titles = [f" *{title} " for title in ZH]
    else:
        titles = [f"\u3000{key.replace('_', ' ').title()} " for key in EN]  # " Project Code "
    (tmp_path / "messy.csv").write_bytes(
        csv_bytes(messy, headers=titles, encoding=encoding, preamble=[["2026年重点项目清单"]]))
    report = import_path(sessions, tmp_path / "messy.csv", now=NOW)
    assert report.errors == []
    assert report.encoding == encoding
    messy_registry = registry(sessions)
    assert report.rows_read == 4
    report = run(sessions, tmp_path, clean)
    assert report.changed == 0, report.changes
    assert registry(sessions) == messy_registry


def test_moved_date_new_owner_and_completion_update_with_audit(sessions, tmp_path):
    run(sessions, tmp_path, project_rows())
    rows = project_rows(owner="王五", owner_mobile="13900139000")
    rows[1]["due_date"] = "2027-01-10"
    rows[0]["completed_on"] = "2026-10-20"
    report = run(sessions, tmp_path, rows, now=LATER)
    assert report.errors == []
    assert (report.projects_updated, report.milestones_updated, report.milestones_unchanged) == (1, 2, 2)
    assert report.persons_created == 1
    with sessions() as session:
        project = session.scalars(select(Project)).one()
        assert project.owner.name == "王五" and project.updated_at == LATER
        first, second = project.milestones[:2]
        assert (first.status, first.completed_on) == ("completed", date(2026, 10, 20))
        assert second.due_date == date(2027, 1, 10) and second.updated_at == LATER
        events = session.scalars(select(AuditEvent).where(AuditEvent.at == LATER)).all()
        by_entity = {(e.entity_type, e.entity_id): e for e in events if e.action.endswith("updated")}
        moved = by_entity[("milestone", second.id)]
        assert moved.before == {"key": "GX-1/组织实施", "due_date": "2026-12-27"}
        assert moved.after == {"key": "GX-1/组织实施", "due_date": "2027-01-10"}
        done = by_entity[("milestone", first.id)]
        assert done.before["status"] == "open" and done.after["status"] == "completed"
        assert done.after["completed_on"] == "2026-10-20"
        owner = by_entity[("project", project.id)]
        assert owner.before == {"owner": "杜萍明 +8619800006866"}
        assert owner.after == {"owner": "王五 +8613900139000"}
        assert {e.actor for e in events} == {"import"}
    # clearing 完成日期 reopens the milestone
    report = run(sessions, tmp_path, project_rows(owner="王五", owner_mobile="13900139000"), now=LATER)
    with sessions() as session:
        first = session.scalars(select(Milestone).where(Milestone.name == "谋划立项")).one()
        assert (first.status, first.completed_on) == ("open", None)


def test_owner_roles_are_added_to_existing_roles(sessions, tmp_path):
    with sessions.begin() as session:
        session.add(Person(name="杜萍明", mobile="+8619800006866", roles="supervisor", created_at=NOW))
    report = run(sessions, tmp_path, project_rows(lead_leader="杜萍明", lead_leader_mobile="19800006866"))
    assert report.errors == [] and report.persons_updated == 1 and report.persons_created == 0
    with sessions() as session:
        person = session.scalars(select(Person)).one()
        assert person.roles == "supervisor owner lead_leader"


def test_a_renamed_person_is_updated_by_mobile(sessions, tmp_path):
    run(sessions, tmp_path, project_rows())
    report = run(sessions, tmp_path, project_rows(owner="杜平明"))
    assert report.persons_updated == 1 and report.projects_unchanged == 1
    with sessions() as session:
        assert session.scalars(select(Person.name).where(Person.mobile == "+8619800006866")).one() == "杜平明"


def test_dry_run_reports_changes_and_writes_nothing(sessions, tmp_path):
    report = run(sessions, tmp_path, project_rows(), dry_run=True)
    assert report.errors == [] and not report.written
    assert (report.projects_created, report.milestones_created) == (1, 4)
    assert sum(counts(sessions).values()) == 0
    run(sessions, tmp_path, project_rows())
    before = counts(sessions)
    rows = project_rows()
    rows[2]["due_date"] = "2027-04-01"
    report = run(sessions, tmp_path, rows[:3] + project_rows("GX-9")[:1], dry_run=True, prune=True)
    described = [change.describe() for change in report.changes]
    assert "milestone GX-1/阶段成果: updated (due_date 2027-03-04 → 2027-04-01)" in described
    assert "milestone GX-1/验收结项: pruned (status open → cancelled)" in described
    assert "project GX-9: created" in described
    assert counts(sessions) == before
    with sessions() as session:
        assert session.scalar(select(Milestone.due_date).where(Milestone.name == "阶段成果")) == date(2027, 3, 4)


def test_prune_cancels_absent_rows_and_never_deletes_them(sessions, tmp_path):
    run(sessions, tmp_path, project_rows("GX-1") + project_rows("GX-2"))
    only_first = project_rows("GX-1")[:3]
    report = run(sessions, tmp_path, only_first)
    assert report.pruned == 0  # without --prune absent rows are left alone
    report = run(sessions, tmp_path, only_first, prune=True, now=LATER)
    assert (report.projects_pruned, report.milestones_pruned, report.pruned) == (1, 5, 6)
    assert report.to_dict()["pruned"] == 6
    with sessions() as session:
        statuses = dict(session.execute(select(Project.code, Project.status)).all())
        assert statuses == {"GX-1": "active", "GX-2": "cancelled"}
        assert session.scalar(select(func.count()).select_from(Milestone)) == 8
        cancelled = session.scalars(select(Milestone).where(Milestone.status == "cancelled")).all()
        assert len(cancelled) == 5
        pruned = session.scalars(select(AuditEvent).where(AuditEvent.action.like("%.pruned"))).all()
        assert len(pruned) == 6 and all(e.after["status"] == "cancelled" for e in pruned)
    assert len(registry(sessions)) == 3  # export leaves cancelled rows out
    # a pruned project listed again comes back to life, with an audit event
    report = run(sessions, tmp_path, project_rows("GX-1") + project_rows("GX-2"), prune=True)
    assert (report.projects_updated, report.milestones_updated, report.pruned) == (1, 5, 0)
    with sessions() as session:
        assert set(session.scalars(select(Project.status))) == {"active"}
        assert set(session.scalars(select(Milestone.status))) == {"open"}
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "project.reactivated")).one()
        assert (event.before, event.after) == ({"status": "cancelled"}, {"status": "active"})


def test_skip_invalid_writes_valid_rows_and_reports_the_rest(sessions, tmp_path):
    rows = project_rows("GX-1") + project_rows("GX-2")
    rows[5]["due_date"] = "someday"
    report = run(sessions, tmp_path, rows, skip_invalid=True)
    assert report.written and not report.ok
    assert [(e.line, e.column) for e in report.errors] == [(7, "截止日期")]
    assert report.rows_skipped == 1
    assert (report.projects_created, report.milestones_created) == (2, 7)


def test_skip_invalid_drops_both_sides_of_a_conflict_and_prune_spares_skipped_rows(sessions, tmp_path):
    run(sessions, tmp_path, project_rows("GX-1") + project_rows("GX-2"))
    rows = project_rows("GX-1") + project_rows("GX-2")
    rows[6]["project_name"] = "名字不一致"  # GX-2 as a whole is ambiguous
    rows.append(dict(rows[0], due_date="2026-11-11"))  # GX-1/谋划立项 twice, different
    rows[1]["due_date"] = "2027-01-01"
    report = run(sessions, tmp_path, rows, skip_invalid=True, prune=True)
    assert [e.line for e in report.errors] == [8, 10]
    assert report.pruned == 0  # GX-2 and GX-1/谋划立项 were listed, just invalid
    assert report.milestones_updated == 1 and report.rows_skipped == 6
    with sessions() as session:
        assert set(session.scalars(select(Milestone.status))) == {"open"}


def test_an_error_on_the_last_row_writes_nothing(sessions, tmp_path):
    rows = [r for n in range(50) for r in project_rows(f"GX-{n:02d}")]
    rows[-1]["owner_mobile"] = "1"
    report = run(sessions, tmp_path, rows)
    assert [e.line for e in report.errors] == [201]
    assert not report.written and report.projects_created == 0
    assert sum(counts(sessions).values()) == 0


def test_a_crash_mid_write_rolls_everything_back(sessions, tmp_path, monkeypatch):
    run(sessions, tmp_path, project_rows("GX-1"))
    before, before_registry = counts(sessions), registry(sessions)

    def fail_after_rows_are_written(session, events):
        assert session.scalar(select(func.count()).select_from(Project)) == 2  # the rows are in
        raise KeyboardInterrupt  # Ctrl-C while the audit trail is being written

    monkeypatch.setattr(audit, "record_many", fail_after_rows_are_written)
    rows = project_rows("GX-1", owner="王五", owner_mobile="13900139000") + project_rows("GX-2")
    with pytest.raises(KeyboardInterrupt):
        run(sessions, tmp_path, rows)
    assert counts(sessions) == before
    assert registry(sessions) == before_registry


def test_xlsx_with_real_date_cells_and_number_cells(sessions, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    cover = workbook.active
    cover.title = "说明"
    cover.append(["本表为重点项目清单"])
    sheet = workbook.create_sheet("清单")
    sheet.append(["2026年重点项目责任分解表"])
    sheet.append(ZH)
    for index, values in enumerate(project_rows("GX-1") + project_rows("GX-2")):
        cells = [values[key] for key in EN]
        cells[EN.index("due_date")] = date.fromisoformat(values["due_date"])
        if index == 1:
            cells[EN.index("completed_on")] = date(2026, 12, 20)
        cells[EN.index("owner_mobile")] = int(values["owner_mobile"])  # a number cell
        cells[EN.index("lead_leader_mobile")] = float(values["lead_leader_mobile"])
        sheet.append(cells)
    sheet.append([])
    path = tmp_path / "清单.xlsx"
    workbook.save(path)

    report = import_path(sessions, path, now=NOW, options=ImportOptions(sheet="说明"))
    assert "no header row" in report.errors[0].reason_en
    report = import_path(sessions, path, now=NOW, options=ImportOptions(sheet="没有"))
    assert "no sheet named" in report.errors[0].reason_en
    report = import_path(sessions, path, now=NOW, options=ImportOptions(sheet="清单"))
    assert report.errors == []
    assert (report.kind, report.sheet, report.milestones_created) == ("xlsx", "清单", 8)
    with sessions() as session:
        second = session.scalars(select(Milestone).where(Milestone.name == "组织实施").order_by(Milestone.id)).first()
        assert (second.due_date, second.completed_on, second.status) == (date(2026, 12, 27), date(2026, 12, 20), "completed")
        assert session.scalar(select(Person.mobile).where(Person.name == "杜萍明")) == "+8619800006866"
    # the upload path gives the same result
    report = import_bytes(sessions, filename="up.xlsx", content=path.read_bytes(), now=NOW,
                          options=ImportOptions(sheet="清单"), actor="user:alice")
    assert report.errors == [] and report.changed == 0


def test_xlsx_error_lines_are_sheet_rows(sessions, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ZH)
    for values in project_rows():
        sheet.append([values[key] for key in EN])
    sheet["I4"] = 46357.0  # a date typed into a cell formatted as a number
    sheet["I5"] = "2027-05-06 09:30"
    path = tmp_path / "r.xlsx"
    workbook.save(path)
    report = import_path(sessions, path, now=NOW)
    assert [(e.line, e.column, e.value) for e in report.errors] == [
        (4, "截止日期", "46357"), (5, "截止日期", "2027-05-06 09:30")]
    assert sum(counts(sessions).values()) == 0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_changes_nothing(sessions, tmp_path, suffix):
    import_path(sessions, SAMPLE, now=NOW)
    rows = project_rows("GX-X", co_units="发展改革局、投资服务局", note='带"引号",和逗号')
    rows[0]["completed_on"] = "2026-10-01"
    run(sessions, tmp_path, rows)
    before = counts(sessions)
    path = tmp_path / f"export{suffix}"
    with sessions() as session:
        assert export_path(session, path) == 124
    if suffix == ".csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf" + "项目编号,项目名称".encode())
    report = import_path(sessions, path, now=LATER, options=ImportOptions(prune=True))
    assert report.errors == []
    assert report.changed == 0, report.changes[:5]
    assert (report.projects_unchanged, report.milestones_unchanged) == (31, 124)
    assert counts(sessions) == before


def test_the_sample_file_is_shipped_in_examples():
    examples = Path(__file__).resolve().parents[2] / "examples"
    assert (examples / "registry_sample.csv").read_bytes() == SAMPLE.read_bytes()


def test_example_files_import_cleanly_and_agree(sessions, tmp_path):
    import importlib.util

    examples = Path(__file__).resolve().parents[2] / "examples"
    spec = importlib.util.spec_from_file_location("make_example_xlsx", examples / "make_example_xlsx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    workbook = module.build(tmp_path / "example.xlsx")
    report = import_path(sessions, workbook, now=NOW)
    assert report.errors == [] and (report.projects_created, report.milestones_created) == (2, 8)
    report = import_path(sessions, examples / "registry_example_en.csv", now=NOW)
    assert report.errors == [] and report.changed == 0
    with sessions() as session:
        project = session.scalars(select(Project).where(Project.code == "GX-2026-0102")).one()
        assert project.owner.name == "王芳" and project.lead_leader is None
        assert project.co_units == "规划建设局、社区发展治理和社事局"
        assert [m.name for m in project.milestones] == ["谋划立项", "组织实施", "入户调查", "验收结项"]


def test_xlsx_merged_project_cells_are_filled_down(sessions, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2026年重点项目责任分解表"])
    sheet.merge_cells("A1:M1")
    sheet.append(ZH)
    rows = project_rows("GX-1") + project_rows("GX-2", owner="王五", owner_mobile="13900139000")
    for index, values in enumerate(rows):
        cells = [values[key] for key in EN]
        if index % 4:  # merged ranges keep only their top-left value
            for key in ("project_code", "project_name", "unit", "lead_leader", "lead_leader_mobile",
                        "owner", "owner_mobile", "level"):
                cells[EN.index(key)] = None
        sheet.append(cells)
    for first in (3, 7):
        for column in "ABCDEFGL":
            sheet.merge_cells(f"{column}{first}:{column}{first + 3}")
    path = tmp_path / "merged.xlsx"
    workbook.save(path)
    report = import_path(sessions, path, now=NOW)
    assert report.errors == []
    assert (report.projects_created, report.milestones_created) == (2, 8)
    with sessions() as session:
        owners = dict(session.execute(select(Project.code, Person.name).join(Project.owner)).all())
        assert owners == {"GX-1": "杜萍明", "GX-2": "王五"}


def test_a_database_error_mid_write_rolls_back_and_is_a_registry_error(sessions, tmp_path, monkeypatch):
    import deadline_watch.registry as registry_package
    from deadline_watch.core.errors import RegistryError
    from deadline_watch.registry.plan import load_existing

    run(sessions, tmp_path, project_rows("GX-1"))
    before = counts(sessions)

    def load_then_race(session):
        existing = load_existing(session)
        # a concurrent writer adds the same unit after the import has read the units
        session.execute(Unit.__table__.insert(), [{"name": "投资服务局", "created_at": NOW}])
        return existing

    monkeypatch.setattr(registry_package, "load_existing", load_then_race)
    with pytest.raises(RegistryError) as raised:
        run(sessions, tmp_path, project_rows("GX-1") + project_rows("GX-2", unit="投资服务局"))
    assert "nothing was written" in raised.value.message_en
    assert counts(sessions) == before
