"""Importing a 责任分解表 as offices keep it: no codes, no mobiles, deadlines in words."""

from __future__ import annotations

from datetime import date

from office_files import CONTACTS, HEADER, NOW, TASKS, contacts_csv, office_csv, office_xlsx
from sqlalchemy import select

from deadline_watch.domain.models import AuditEvent, Person, Project, ProjectCoUnit, Unit
from deadline_watch.registry import ImportOptions, export_path, import_path
from deadline_watch.registry.office_sheet import task_code

TODAY = date(2026, 12, 1)


def _files(tmp_path, tasks=TASKS, contacts=CONTACTS, **kwargs):
    sheet = tmp_path / "责任分解表.csv"
    sheet.write_bytes(office_csv(tasks, **kwargs))
    book = tmp_path / "通讯录.csv"
    book.write_bytes(contacts_csv(contacts))
    return sheet, book


def _options(book, **kwargs) -> ImportOptions:
    return ImportOptions(contacts=book, today=TODAY, **kwargs)


def test_dry_run_shows_every_phrase_and_what_it_was_read_as(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    report = import_path(sessions, sheet, now=NOW, options=_options(book, dry_run=True))
    assert report.errors == []
    assert [item.describe() for item in report.interpretations] == [
        "第 3 行 完成时限 “6月底前” → 2027-06-30",
        "第 4 行 完成时限 “3月15日前” → 2027-03-15",
        "第 5 行 完成时限 “一季度末” → 2027-03-31",
        "第 6 行 完成时限 “每月25日前” → 周期: 每月25日前",
        "第 7 行 完成时限 “长期坚持” → 长期 (不提醒、不督办)",
    ]
    assert report.projects_created == 5 and not report.written
    with sessions() as session:
        assert session.scalar(select(Project.id)) is None


def test_tasks_keyed_by_unit_and_name_with_one_deadline_and_contacts_mobiles(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    report = import_path(sessions, sheet, now=NOW, options=_options(book))
    assert report.errors == [] and report.written
    with sessions() as session:
        park = session.scalar(select(Project).where(Project.name == "推进天府软件园三期主体建设"))
        assert park.code == task_code("新经济发展局", "推进天府软件园三期主体建设")
        assert park.deadline_phrase == "6月底前" and park.schedule == ""
        assert [(m.name, m.due_date) for m in park.milestones] == [("完成", date(2027, 6, 30))]
        assert park.owner.mobile == "+8619800006866" and park.lead_leader.mobile == "+8618900009807"
        assert park.note == "倒排工期,每周调度"
        # 协办单位 are unit rows linked to the task
        co_units = session.scalars(
            select(Unit.name).join(ProjectCoUnit, ProjectCoUnit.unit_id == Unit.id)
            .where(ProjectCoUnit.project_id == park.id).order_by(Unit.name)
        ).all()
        assert co_units == ["住房和城乡建设局", "规划和自然资源局"]
        # the phrase is in the audit trail of the task's creation
        created = session.scalar(select(AuditEvent).where(AuditEvent.action == "project.created",
                                                          AuditEvent.entity_id == park.id))
        assert created.after["deadline_phrase"] == "6月底前"


def test_recurring_task_gets_its_next_occurrence_and_standing_task_none(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    report = import_path(sessions, sheet, now=NOW, options=_options(book))
    assert report.occurrences_created == 1
    with sessions() as session:
        monthly = session.scalar(select(Project).where(Project.name == "报送重点项目推进情况"))
        assert monthly.schedule == "monthly:25" and monthly.deadline_phrase == "每月25日前"
        # the sheet is for 2027: the first occurrence is January's, nothing further ahead
        assert [(m.name, m.due_date) for m in monthly.milestones] == [("2027年01月", date(2027, 1, 25))]
        standing = session.scalar(select(Project).where(Project.name == "优化营商环境"))
        assert standing.schedule == "standing" and standing.milestones == []


def test_reimport_of_the_same_sheet_changes_nothing(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    import_path(sessions, sheet, now=NOW, options=_options(book))
    again = import_path(sessions, sheet, now=NOW, options=_options(book, prune=True))
    assert again.errors == []
    assert again.changed == 0 and again.occurrences_created == 0
    assert again.projects_unchanged == 5


def test_workbook_with_merged_title_synonyms_and_its_own_contacts_sheet(sessions, tmp_path):
    header = ["序号", "工作任务", "分管领导", "牵头单位", "配合单位", "具体责任人", "时间节点", "工作措施"]
    path = office_xlsx(tmp_path / "分解表.xlsx", header=header)
    report = import_path(sessions, path, now=NOW, options=ImportOptions(today=TODAY))
    assert report.errors == [], report.errors
    assert report.sheet == "责任分解表" and report.projects_created == 5
    with sessions() as session:
        assert session.scalar(select(Person.mobile).where(Person.name == "张伟")) == "+8613800002222"


def test_name_missing_from_contacts_or_listed_twice_is_an_error_naming_the_row(sessions, tmp_path):
    contacts = [row for row in CONTACTS if row[0] != "李静"] + [["张伟", "13800009999", "", ""]]
    sheet, book = _files(tmp_path, contacts=contacts)
    report = import_path(sessions, sheet, now=NOW, options=_options(book))
    assert [(error.line, error.column, error.value) for error in report.errors] == [
        (4, "责任人", "李静"), (5, "责任人", "张伟")]
    assert "找不到 李静 的手机号" in report.errors[0].reason_zh
    assert "不同的手机号" in report.errors[1].reason_zh and "13800009999" in report.errors[1].reason_zh
    assert not report.written


def test_a_person_already_in_the_database_counts_as_found(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    import_path(sessions, sheet, now=NOW, options=_options(book))
    extra = [["6", "新增一项任务", "郭刚", "金融工作局", "", "李静", "2027年9月底前", ""]]
    sheet2 = tmp_path / "追加.csv"
    sheet2.write_bytes(office_csv(TASKS + extra))
    report = import_path(sessions, sheet2, now=NOW, options=ImportOptions(today=TODAY))  # no contacts file now
    assert report.errors == [] and report.projects_created == 1


def test_phrase_without_a_year_needs_year_option_or_title(sessions, tmp_path):
    sheet, book = _files(tmp_path, title=None)
    report = import_path(sessions, sheet, now=NOW, options=_options(book, dry_run=True))
    assert {error.line for error in report.errors} == {2, 3, 4}  # 6月底前, 3月15日前, 一季度末
    assert all(error.column == "完成时限" and "没有年份" in error.reason_zh for error in report.errors)
    report = import_path(sessions, sheet, now=NOW, options=_options(book, dry_run=True, year=2028))
    assert report.errors == []
    assert report.interpretations[0].meaning == "2028-06-30"


def test_phrase_outside_the_grammar_is_an_error_for_that_row(sessions, tmp_path):
    tasks = [list(TASKS[0]), list(TASKS[1])]
    tasks[1][6] = "尽快完成"
    sheet, book = _files(tmp_path, tasks=tasks)
    report = import_path(sessions, sheet, now=NOW, options=_options(book))
    assert [(error.line, error.column, error.value) for error in report.errors] == [(4, "完成时限", "尽快完成")]
    assert "无法识别" in report.errors[0].reason_zh and not report.written


def test_slightly_renamed_task_is_suspected_not_silently_duplicated(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    import_path(sessions, sheet, now=NOW, options=_options(book))
    renamed = [list(task) for task in TASKS]
    renamed[0][1] = "推进天府软件园三期主体工程建设"
    sheet2 = tmp_path / "改名.csv"
    sheet2.write_bytes(office_csv(renamed))
    report = import_path(sessions, sheet2, now=NOW, options=_options(book, dry_run=True))
    assert [(error.line, error.column) for error in report.errors] == [(3, "重点任务")]
    assert "疑似更名" in report.errors[0].reason_zh and "推进天府软件园三期主体建设" in report.errors[0].reason_zh
    report = import_path(sessions, sheet2, now=NOW, options=_options(book, accept_renames=True))
    assert report.errors == [] and report.projects_created == 0 and report.projects_updated == 1
    with sessions() as session:
        project = session.scalar(select(Project).where(Project.code == task_code(
            "新经济发展局", "推进天府软件园三期主体建设")))
        assert project.name == "推进天府软件园三期主体工程建设"


def test_export_writes_the_products_format_and_reads_back_unchanged(sessions, tmp_path):
    sheet, book = _files(tmp_path)
    import_path(sessions, sheet, now=NOW, options=_options(book))
    exported = tmp_path / "导出.csv"
    with sessions() as session:
        rows = export_path(session, exported)
    assert rows == 5  # three single deadlines, one occurrence, one standing task's own row
    text = exported.read_text(encoding="utf-8-sig")
    assert "周期" in text.splitlines()[0] and "每月25日前" in text and "长期" in text
    report = import_path(sessions, exported, now=NOW, options=ImportOptions(today=TODAY, prune=True))
    assert report.errors == [], report.errors
    assert report.changed == 0


def test_product_format_header_still_requires_its_own_columns(no_db):
    # a sheet with 项目编号 is the product's format: 节点 and mobiles stay required

    from deadline_watch.registry import import_bytes

    content = ("\ufeff项目编号,项目名称,责任单位,责任人,截止日期\r\nGX-1,x,y,z,2027-01-01\r\n").encode()
    report = import_bytes(no_db, filename="a.csv", content=content, now=NOW)
    assert {error.column for error in report.errors} >= {"责任人手机 / owner_mobile", "节点 / milestone"}


def test_header_synonyms_are_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "registry.md").read_text(encoding="utf-8")
    for name in HEADER[1:]:
        assert name in doc
