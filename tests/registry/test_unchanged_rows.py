"""A re-import compares each project and milestone with the database in one go when
nothing changed (issue 17); every single change must still be found, on both databases."""

from __future__ import annotations

from datetime import date

import pytest
from registry_files import NOW, csv_bytes, project_rows
from sqlalchemy import update

from deadline_watch.domain.models import Milestone
from deadline_watch.registry import import_bytes


def imported(sessions, rows):
    report = import_bytes(sessions, filename="r.csv", content=csv_bytes(rows), now=NOW)
    assert not report.errors, report.errors
    return report


def updates(report, entity):
    return {change.key: change.fields for change in report.changes
            if change.action == "updated" and change.entity == entity}


@pytest.mark.parametrize(("key", "value", "field", "after"), [
    ("project_name", "天府软件园四期", "name", "天府软件园四期"),
    ("unit", "经济信息化局", "unit", "经济信息化局"),
    ("co_units", "经济信息化局", "co_units", "经济信息化局"),
    ("level", "省级", "level", "省级"),
    ("note", "加快", "note", "加快"),
    ("owner_mobile", "19800006867", "owner", "杜萍明 +8619800006867"),
    ("lead_leader_mobile", "18900009808", "lead_leader", "郭刚 +8618900009808"),
])
def test_each_changed_project_cell_is_found(sessions, key, value, field, after):
    imported(sessions, project_rows())
    report = imported(sessions, project_rows(**{key: value}))
    assert {code: fields[field][1] for code, fields in updates(report, "project").items()} == {"GX-1": after}
    assert report.projects_unchanged == 0 and report.milestones_unchanged == 4


@pytest.mark.parametrize(("cells", "fields"), [
    ({"due_date": "2027-01-02"}, {"due_date": (date(2026, 12, 27), date(2027, 1, 2))}),
    ({"completed_on": "2026-12-20"}, {"completed_on": (None, date(2026, 12, 20)),
                                      "status": ("open", "completed")}),
])
def test_each_changed_milestone_cell_is_found(sessions, cells, fields):
    imported(sessions, project_rows())
    rows = project_rows()
    rows[1].update(cells)
    report = imported(sessions, rows)
    assert updates(report, "milestone") == {"GX-1/组织实施": fields}
    assert report.milestones_unchanged == 3 and report.projects_unchanged == 1


def test_a_reordered_milestone_and_a_status_changed_in_the_database_are_found(sessions):
    imported(sessions, project_rows())
    with sessions.begin() as session:  # e.g. a supervisor cancelled it by hand
        session.execute(update(Milestone).where(Milestone.name == "验收结项").values(status="cancelled"))
    rows = project_rows()
    rows[0], rows[1] = rows[1], rows[0]
    report = imported(sessions, rows)
    assert updates(report, "milestone") == {
        "GX-1/组织实施": {"position": (2, 1)},
        "GX-1/谋划立项": {"position": (1, 2)},
        "GX-1/验收结项": {"status": ("cancelled", "open")},
    }
    assert report.milestones_unchanged == 1
