"""Property-based: each SQL prefilter of watch/load.py selects the rows its Python rule decides about.

A registry (people, projects, milestones, board items, outbox rows) is generated, written to
a real SQLite or PostgreSQL database, and each query of `load.py` is compared with the rule
of `rules.py` applied to the same registry in Python: no row the rule would act on is
missed, the selection is exactly what the query's docstring promises, and the facts read
back by column name equal the ones built in Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deadline_watch.core.config import Settings
from deadline_watch.domain.board_items import EscalationFacts
from deadline_watch.domain.models import Escalation, Milestone, Notification, Person, Project, Unit
from deadline_watch.domain.workdays import days_left
from deadline_watch.watch import load, rules
from deadline_watch.watch.facts import MilestoneFacts, PendingFacts, PersonFacts
from watch_support import at, fast_settings, with_levels

PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("DW_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# plain days, and days next to National Day and the Spring Festival for the workdays mode
TODAYS = [date(2026, 12, 1), date(2026, 9, 29), date(2027, 2, 4)]
UNRESOLVED = ("open", "acknowledged")
# by the scan (completed_late and cancelled reopen when the milestone is open again) or a supervisor
RESOLUTIONS = ["completed_late", "cancelled", "deadline_extended", "waived", "referred_for_accountability"]


@dataclass
class Registry:
    """A generated registry, as plain values (ids are list positions + 1)."""

    today: date
    now: datetime
    settings: Settings
    persons: list[dict] = field(default_factory=list)
    projects: list[dict] = field(default_factory=list)
    milestones: list[dict] = field(default_factory=list)
    escalations: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)


@st.composite
def registries(draw: st.DrawFn) -> Registry:
    today = draw(st.sampled_from(TODAYS))
    mode = draw(st.sampled_from(["calendar", "workdays"]))
    offsets = draw(st.sampled_from([[7], [1, 3, 7], [0, 2, 5]]))
    base = fast_settings(reminders__days_before=offsets, reminders__day_mode=mode)
    levels = draw(
        st.sampled_from(
            [
                None,  # the defaults: level 1 after 1 day, level 2 after 7
                [
                    {"after_days_overdue": 2, "level": 1, "notify": ["owner"]},
                    {"after_days_overdue": 5, "level": 2, "notify": ["owner", "lead_leader"]},
                    {"after_days_overdue": 12, "level": 3, "notify": ["owner", "supervisors"]},
                ],
            ]
        )
    )
    settings_ = with_levels(base, levels) if levels else base
    # the hour decides whether the send window is open now or only tomorrow
    now = at(today, draw(st.sampled_from([0, 9, 21])))
    reg = Registry(today=today, now=now, settings=settings_)

    person_count = draw(st.integers(1, 4))
    for index in range(person_count):
        reg.persons.append(
            {
                "id": index + 1,
                "mobile": draw(st.sampled_from([f"+86138{index:08d}", None])),
                "opted_out": draw(st.sampled_from([False, False, False, True])),
            }
        )
    person_ids = st.integers(1, person_count)
    for index in range(draw(st.integers(1, 3))):
        reg.projects.append(
            {
                "id": index + 1,
                "status": draw(st.sampled_from(["active"] * 5 + ["completed", "suspended", "cancelled"])),
                "owner_id": draw(person_ids),
                "lead_leader_id": draw(st.one_of(st.none(), person_ids)),
            }
        )
    day = st.integers(-14, 14).map(lambda shift: today + timedelta(days=shift))
    near = st.integers(-3, 3).map(lambda shift: today + timedelta(days=shift))
    past = st.integers(-14, -1).map(lambda shift: today + timedelta(days=shift))
    for index in range(draw(st.integers(1, 10))):
        milestone_id = index + 1
        status = draw(st.sampled_from(["open"] * 6 + ["completed", "cancelled"]))
        completed_on = None if draw(st.integers(0, 5)) else draw(day)
        due = draw(st.one_of(day, near, past))
        reg.milestones.append(
            {
                "id": milestone_id,
                "project_id": draw(st.integers(1, len(reg.projects))),
                "due_date": due,
                "status": status,
                "completed_on": completed_on,
                "owner_id": draw(st.one_of(st.none(), person_ids)),
            }
        )
        # board items: one per (milestone, due date); at most one unresolved overdue item
        item_dates = draw(st.lists(st.one_of(st.just(due), day), max_size=3, unique=True))
        unresolved_taken = False
        for item_due in item_dates:
            state = draw(st.sampled_from(["open", "acknowledged", "resolved"]))
            if state in UNRESOLVED and unresolved_taken:
                state = "resolved"
            unresolved_taken = unresolved_taken or state in UNRESOLVED
            resolution = draw(st.sampled_from(RESOLUTIONS)) if state == "resolved" else None
            reg.escalations.append(
                {
                    "id": len(reg.escalations) + 1,
                    "dedup_key": f"overdue:{milestone_id}:{item_due.isoformat()}",
                    "milestone_id": milestone_id,
                    "reason": "overdue",
                    "due_date": item_due,
                    "level": draw(st.integers(1, 3)),
                    "state": state,
                    "resolution": resolution,
                }
            )
        if draw(st.booleans()):  # delivery's "unreachable" items are not the watch's
            reg.escalations.append(
                {
                    "id": len(reg.escalations) + 1,
                    "dedup_key": f"unreachable:{milestone_id}",
                    "milestone_id": milestone_id,
                    "reason": "unreachable",
                    "due_date": due,
                    "level": 1,
                    "state": draw(st.sampled_from(["open", "resolved"])),
                    "resolution": None,
                }
            )
        # outbox rows planned earlier (so their keys are ones the rules could have made)
        for _ in range(draw(st.integers(0, 3))):
            planned_for = draw(st.one_of(st.just(due), st.just(due), day))
            owner_now = reg.milestones[-1]["owner_id"] or reg.projects[reg.milestones[-1]["project_id"] - 1]["owner_id"]
            recipient = draw(st.one_of(st.just(owner_now), person_ids))
            state = draw(st.sampled_from(["pending", "pending", "sent", "cancelled"]))
            if draw(st.booleans()):
                created = today - timedelta(days=draw(st.integers(0, 10)))
                offset = rules.due_reminder_offset(days_left(created, planned_for, mode), offsets)
                if offset is None or planned_for < created:
                    continue
                key = rules.reminder_key(milestone_id, planned_for, offset, recipient)
                rule, level = "reminder", None
            else:
                level = draw(st.integers(1, 3))
                key = rules.escalation_sms_key(milestone_id, planned_for, level, recipient)
                rule = "escalation"
            if any(row["dedup_key"] == key for row in reg.notifications):
                continue
            reg.notifications.append(
                {
                    "id": len(reg.notifications) + 1,
                    "dedup_key": key,
                    "milestone_id": milestone_id,
                    "rule": rule,
                    "level": level,
                    "due_date": planned_for,
                    "recipient_id": recipient,
                    "state": state,
                }
            )
    return reg


# ---- the registry in the database, and as the facts the rules read -------------------


def write(session, reg: Registry) -> None:
    for model in (Notification, Escalation, Milestone, Project, Person, Unit):
        session.execute(model.__table__.delete())
    session.execute(Unit.__table__.insert(), [{"id": 1, "name": "新经济发展局", "created_at": EPOCH}])
    session.execute(
        Person.__table__.insert(),
        [
            {
                "id": p["id"],
                "name": f"官员{p['id']}",
                "mobile": p["mobile"],
                "roles": "owner",
                "opted_out_at": EPOCH if p["opted_out"] else None,
                "created_at": EPOCH,
            }
            for p in reg.persons
        ],
    )
    session.execute(
        Project.__table__.insert(),
        [
            {
                "id": p["id"],
                "code": f"GX-P-{p['id']}",
                "name": f"项目{p['id']}",
                "unit_id": 1,
                "owner_id": p["owner_id"],
                "lead_leader_id": p["lead_leader_id"],
                "status": p["status"],
                "created_at": EPOCH,
                "updated_at": EPOCH,
            }
            for p in reg.projects
        ],
    )
    session.execute(
        Milestone.__table__.insert(),
        [{**m, "name": f"节点{m['id']}", "created_at": EPOCH, "updated_at": EPOCH} for m in reg.milestones],
    )
    if reg.escalations:
        session.execute(Escalation.__table__.insert(), [{**e, "opened_at": EPOCH} for e in reg.escalations])
    if reg.notifications:
        session.execute(
            Notification.__table__.insert(),
            [
                {**n, "to_number": "+8613800000000", "body": "…", "next_attempt_at": EPOCH, "created_at": EPOCH,
                 "updated_at": EPOCH}
                for n in reg.notifications
            ],
        )


def person_facts(reg: Registry, person_id: int | None) -> PersonFacts | None:
    if person_id is None:
        return None
    person = reg.persons[person_id - 1]
    return PersonFacts(person_id, f"官员{person_id}", person["mobile"], person["opted_out"])


def responsible(reg: Registry, milestone: dict) -> int:
    return milestone["owner_id"] or reg.projects[milestone["project_id"] - 1]["owner_id"]


def milestone_facts(reg: Registry, milestone: dict) -> MilestoneFacts:
    project = reg.projects[milestone["project_id"] - 1]
    return MilestoneFacts(
        milestone_id=milestone["id"],
        project_id=project["id"],
        project_code=f"GX-P-{project['id']}",
        project_name=f"项目{project['id']}",
        unit="新经济发展局",
        milestone=f"节点{milestone['id']}",
        due_date=milestone["due_date"],
        status=milestone["status"],
        project_status=project["status"],
        completed_on=milestone["completed_on"],
        owner=person_facts(reg, responsible(reg, milestone)),
        lead_leader=person_facts(reg, project["lead_leader_id"]),
    )


def board_item(escalation: dict) -> EscalationFacts:
    return EscalationFacts(
        escalation["id"],
        escalation["milestone_id"],
        escalation["due_date"],
        escalation["level"],
        escalation["state"],
        escalation["resolution"],
    )


def overdue_items(reg: Registry, milestone_id: int) -> list[dict]:
    return [e for e in reg.escalations if e["milestone_id"] == milestone_id and e["reason"] == "overdue"]


def current_item(reg: Registry, milestone: dict) -> EscalationFacts | None:
    """What `plan_escalation` is given: the unresolved item, else the one for the current date."""
    items = overdue_items(reg, milestone["id"])
    unresolved = [e for e in items if e["state"] in UNRESOLVED]
    same_date = [e for e in items if e["due_date"] == milestone["due_date"]]
    chosen = unresolved or same_date
    return board_item(chosen[0]) if chosen else None


def pending_facts(reg: Registry, notification: dict) -> PendingFacts:
    milestone = reg.milestones[notification["milestone_id"] - 1]
    project = reg.projects[milestone["project_id"] - 1]
    unresolved_level = [
        e["level"]
        for e in overdue_items(reg, milestone["id"])
        if e["state"] in UNRESOLVED and e["due_date"] == notification["due_date"]
    ]
    return PendingFacts(
        id=notification["id"],
        dedup_key=notification["dedup_key"],
        milestone_id=milestone["id"],
        rule=notification["rule"],
        level=notification["level"],
        due_date=notification["due_date"],
        milestone_status=milestone["status"],
        milestone_due_date=milestone["due_date"],
        milestone_completed_on=milestone["completed_on"],
        project_status=project["status"],
        recipient_opted_out=reg.persons[notification["recipient_id"] - 1]["opted_out"],
        escalation_level=unresolved_level[0] if unresolved_level else None,
        recipient_id=notification["recipient_id"],
        owner_id=responsible(reg, milestone),
    )


def thresholds(reg: Registry) -> list[tuple[int, int]]:
    return [(level.after_days_overdue, level.level) for level in reg.settings.escalation.levels]


# ---- the properties ---------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(reg=registries())
def test_reminder_candidates_are_every_milestone_a_reminder_rule_could_fire_for(sessions, reg):
    window = rules.reminder_window_days(reg.settings)
    with sessions() as session:
        write(session, reg)
        loaded = {facts.milestone_id: facts for facts in load.reminder_candidates(session, today=reg.today,
                                                                                  window_days=window)}
        session.rollback()
    every = {m["id"]: milestone_facts(reg, m) for m in reg.milestones}
    wanted = {i for i, facts in every.items() if rules.plan_reminder(facts, settings=reg.settings, now=reg.now)}
    assert wanted <= loaded.keys(), "a milestone due a reminder was not loaded"
    promised = {
        i for i, facts in every.items()
        if facts.status == "open" and facts.project_status == "active"
        and reg.today <= facts.due_date <= reg.today + timedelta(days=window)
    }
    assert loaded.keys() == promised
    assert all(loaded[i] == every[i] for i in loaded), "facts read back differ from the registry"


@PROPERTY_SETTINGS
@given(reg=registries())
def test_escalation_candidates_are_exactly_the_milestones_to_open_raise_reopen_or_move(sessions, reg):
    with sessions() as session:
        write(session, reg)
        loaded = {facts.milestone_id: (facts, current) for facts, current in
                  load.escalation_candidates(session, today=reg.today, thresholds=thresholds(reg))}
        session.rollback()
    every = {m["id"]: (milestone_facts(reg, m), current_item(reg, m)) for m in reg.milestones}
    decided = {
        i for i, (facts, current) in every.items()
        if rules.plan_escalation(facts, current, settings=reg.settings, now=reg.now) is not None
    }
    assert decided <= loaded.keys(), "a milestone to open, raise, reopen or move was not loaded"
    # the one thing left to Python (see load.py): completed_on on a milestone still marked open
    extra = loaded.keys() - decided
    assert all(every[i][0].completed_on is not None for i in extra), "loaded a milestone with nothing to do"
    assert all(loaded[i] == every[i] for i in loaded), "facts or board item read back differ"


@PROPERTY_SETTINGS
@given(reg=registries())
def test_escalations_to_resolve_include_every_item_the_resolution_rule_closes(sessions, reg):
    with sessions() as session:
        write(session, reg)
        loaded = {current.id: (facts, current) for facts, current in load.escalations_to_resolve(session)}
        session.rollback()
    unresolved = [e for e in reg.escalations if e["reason"] == "overdue" and e["state"] in UNRESOLVED]
    every = {e["id"]: (milestone_facts(reg, reg.milestones[e["milestone_id"] - 1]), board_item(e)) for e in unresolved}
    resolved = {i for i, (facts, item) in every.items() if rules.resolution_for(facts, item, today=reg.today)}
    assert resolved <= loaded.keys(), "an item to resolve was not loaded"
    # promised: completed, cancelled, project stopped or re-dated (re-dated into the past is a move)
    promised = {
        i for i, (facts, item) in every.items()
        if facts.status != "open" or facts.completed_on is not None or facts.project_status != "active"
        or facts.due_date != item.due_date
    }
    assert loaded.keys() == promised
    assert all(loaded[i] == every[i] for i in loaded)


@PROPERTY_SETTINGS
@given(reg=registries())
def test_pending_to_check_includes_every_outbox_row_the_cancellation_rule_cancels(sessions, reg):
    every_milestone = [milestone_facts(reg, m) for m in reg.milestones]
    # as service.scan_and_enqueue does
    reminders = rules.plan_reminders(every_milestone, settings=reg.settings, now=reg.now)
    current_keys = {intent.milestone_id: intent.dedup_key for intent in reminders}
    largest = rules.max_reminder_offset(reg.settings)
    may_be_superseded = [intent.milestone_id for intent in reminders if intent.offset != largest]
    with sessions() as session:
        write(session, reg)
        loaded = {p.id: p for p in load.pending_to_check(session, today=reg.today, milestone_ids=may_be_superseded)}
        session.rollback()
    every = {n["id"]: pending_facts(reg, n) for n in reg.notifications if n["state"] == "pending"}
    cancelled = {
        i for i, pending in every.items()
        if rules.cancellation_reason(pending, today=reg.today, current_reminder_keys=current_keys)
    }
    assert cancelled <= loaded.keys(), "a pending SMS to cancel was not loaded"
    promised = {
        i for i, p in every.items()
        if p.milestone_status != "open" or p.milestone_completed_on is not None or p.project_status != "active"
        or p.due_date != p.milestone_due_date or p.recipient_opted_out or p.rule == "escalation"
        or (p.rule == "reminder" and (p.milestone_due_date < reg.today or p.recipient_id != p.owner_id
                                      or p.milestone_id in may_be_superseded))
    }
    assert loaded.keys() == promised
    assert all(loaded[i] == every[i] for i in loaded), "pending facts read back differ"
