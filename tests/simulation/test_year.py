"""A year of the watch in simulated time, checked against an independent oracle.

A few hundred milestones (some imported late, completed early or late, re-dated, in
projects that get suspended or a new owner, some given their own owner; a few owners
opted out) are ticked at every instant that
matters each day: 00:05 (the new day), 08:30 (window opening), 12:00 and 20:00
(window closing), with registry changes at 07:00, 10:00 and 21:30. The oracle below
re-derives from the written rules — not from scan.py — which SMS must go out and when;
the test then demands the exact same set: no missing, no duplicate, none outside the
window, none for completed milestones or stopped projects, and no stale day count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache

import chinese_calendar
import pytest
import sqlalchemy as sa

from deadline_watch.core import db
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.models import Milestone, Notification, Person, Project, Unit
from watch_support import TZ, RecordingBackend, fast_settings

pytestmark = pytest.mark.slow

TICKS = (time(0, 5), time(8, 30), time(12, 0), time(20, 0))
EVENT_TIMES = (time(7, 0), time(10, 0), time(21, 30))
WINDOW = (time(8, 30), time(20, 0))
OFFSETS = [7, 3, 1]
LEVELS = [(1, 1, ("owner", "lead_leader")), (7, 2, ("owner", "lead_leader", "supervisors"))]
EPOCH = datetime(2025, 12, 1, tzinfo=TZ)


# ------------------------------------------------------------------ the world


@dataclass
class World:
    """The registry as the oracle sees it (ids match the database)."""

    due: dict[int, date] = field(default_factory=dict)
    project_of: dict[int, int] = field(default_factory=dict)
    owner_of: dict[int, int] = field(default_factory=dict)  # project -> person
    milestone_owner: dict[int, int] = field(default_factory=dict)  # milestone -> person (override)
    leader_of: dict[int, int] = field(default_factory=dict)  # project -> person
    exists: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)
    stopped_projects: set[int] = field(default_factory=set)
    opted_out: set[int] = field(default_factory=set)
    supervisors: list[int] = field(default_factory=list)

    def owner(self, milestone: int) -> int:
        """The responsible official: the milestone's own owner, else its project's."""
        return self.milestone_owner.get(milestone, self.owner_of[self.project_of[milestone]])

    def watched(self, milestone: int) -> bool:
        return (
            milestone in self.exists
            and milestone not in self.completed
            and self.project_of[milestone] not in self.stopped_projects
        )


@dataclass(frozen=True)
class Change:
    at: datetime
    kind: str  # create | complete | redate | stop | project_owner | milestone_owner
    target: int
    new_due: date | None = None
    new_owner: int | None = None


def build_registry(sessions, rng: random.Random, first: date, last: date, count: int):
    """Write the registry; return the world, the scheduled changes and creation times."""
    world = World()
    changes: list[Change] = []
    with db.transaction(sessions) as session:
        unit = Unit(name="新经济发展局", created_at=EPOCH)
        session.add(unit)
        people = [
            Person(name=f"官员{i}", mobile=f"+86138{i:08d}", roles="owner", created_at=EPOCH) for i in range(60)
        ]
        leaders = [
            Person(name=f"领导{i}", mobile=f"+86139{i:08d}", roles="lead_leader", created_at=EPOCH) for i in range(15)
        ]
        supervisors = [
            Person(name=f"督查{i}", mobile=f"+86137{i:08d}", roles="supervisor", created_at=EPOCH) for i in range(3)
        ]
        for person in people[:3] + supervisors[2:]:
            person.opted_out_at = EPOCH
        session.add_all(people + leaders + supervisors)
        session.flush()
        world.opted_out = {person.id for person in people[:3] + supervisors[2:]}
        world.supervisors = [person.id for person in supervisors]
        span = (last - first).days
        projects: list[Project] = []
        for index in range(count // 3):
            project = Project(
                code=f"GX-S-{index:04d}",
                name=f"模拟项目{index}号" + ("超长名称" * 8 if index % 17 == 0 else ""),
                unit=unit,
                owner=rng.choice(people),
                lead_leader=rng.choice(leaders) if index % 5 else None,
                level="市级",
                status="active",
                created_at=EPOCH,
                updated_at=EPOCH,
            )
            projects.append(project)
        session.add_all(projects)
        session.flush()
        for project in projects:
            world.owner_of[project.id] = project.owner_id
            if project.lead_leader_id:
                world.leader_of[project.id] = project.lead_leader_id
        milestones = []
        for index in range(count):
            project = projects[index % len(projects)]
            due = first + timedelta(days=rng.randrange(span))
            milestones.append(
                Milestone(project=project, name=f"节点{index}", position=index, due_date=due,
                          created_at=EPOCH, updated_at=EPOCH)
            )
        session.add_all(milestones)
        session.flush()
        for milestone in milestones:
            mid, due = milestone.id, milestone.due_date
            world.due[mid] = due
            world.project_of[mid] = milestone.project_id
            roll = rng.random()
            if roll < 0.06:  # imported late, 0-6 days before its date
                created = datetime.combine(due - timedelta(days=rng.randrange(7)), rng.choice(EVENT_TIMES), tzinfo=TZ)
                changes.append(Change(created, "create", mid))
                milestone.status = "cancelled"  # invisible until created (the oracle agrees)
            else:
                world.exists.add(mid)
            roll = rng.random()
            when = lambda lo, hi, due=due: datetime.combine(  # noqa: E731
                due + timedelta(days=rng.randrange(lo, hi)), rng.choice(EVENT_TIMES), tzinfo=TZ
            )
            if roll < 0.20:
                changes.append(Change(when(-10, 1), "complete", mid))  # on time
            elif roll < 0.35:
                changes.append(Change(when(1, 15), "complete", mid))  # late
            elif roll < 0.45:
                moved = due + timedelta(days=rng.randrange(2, 40))
                changes.append(Change(when(-5, 12), "redate", mid, moved))
        for project in rng.sample(projects, k=max(1, len(projects) // 20)):
            changes.append(Change(
                datetime.combine(first + timedelta(days=rng.randrange(span)), EVENT_TIMES[0], tzinfo=TZ),
                "stop", project.id,
            ))
        # new responsible officials around the reminder days (drawn last, so the draws
        # above are the same as before owners could change)
        by_project: dict[int, list[Milestone]] = {}
        for milestone in milestones:
            by_project.setdefault(milestone.project_id, []).append(milestone)
        around = lambda due: datetime.combine(  # noqa: E731
            due + timedelta(days=rng.randrange(-9, 2)), rng.choice(EVENT_TIMES), tzinfo=TZ
        )
        for project in rng.sample(projects, k=max(1, len(projects) // 6)):  # registry re-import
            changes.append(Change(around(rng.choice(by_project[project.id]).due_date), "project_owner", project.id,
                                  new_owner=rng.choice(people).id))
        for milestone in rng.sample(milestones, k=max(1, len(milestones) // 12)):  # owner override
            changes.append(Change(around(milestone.due_date), "milestone_owner", milestone.id,
                                  new_owner=rng.choice(people).id))
    changes.sort(key=lambda change: change.at)
    return world, changes


def apply_change(sessions, world: World, change: Change) -> None:
    with db.transaction(sessions) as session:
        if change.kind == "create":
            milestone = session.get(Milestone, change.target)
            milestone.status = "open" if change.target not in world.completed else "completed"
            world.exists.add(change.target)
        elif change.kind == "complete":
            milestone = session.get(Milestone, change.target)
            if milestone.status != "cancelled":
                milestone.status = "completed"
            milestone.completed_on = change.at.date()
            world.completed.add(change.target)
        elif change.kind == "redate":
            session.get(Milestone, change.target).due_date = change.new_due
            world.due[change.target] = change.new_due
        elif change.kind == "stop":
            session.get(Project, change.target).status = "suspended"
            world.stopped_projects.add(change.target)
        elif change.kind == "project_owner":
            session.get(Project, change.target).owner_id = change.new_owner
            world.owner_of[change.target] = change.new_owner
        elif change.kind == "milestone_owner":
            session.get(Milestone, change.target).owner_id = change.new_owner
            world.milestone_owner[change.target] = change.new_owner


# ------------------------------------------------------------------ the oracle


@cache
def is_working(day: date) -> bool:
    return chinese_calendar.is_workday(day)


def sending_day(day: date, mode: str) -> bool:
    return mode == "calendar" or is_working(day)


def next_opening(now: datetime, mode: str) -> datetime:
    """Straight from the rule: inside the window now, else the next (working) day's 08:30."""
    day = now.date()
    if sending_day(day, mode) and WINDOW[0] <= now.time() < WINDOW[1]:
        return now
    if sending_day(day, mode) and now.time() < WINDOW[0]:
        return datetime.combine(day, WINDOW[0], tzinfo=TZ)
    day += timedelta(days=1)
    while not sending_day(day, mode):
        day += timedelta(days=1)
    return datetime.combine(day, WINDOW[0], tzinfo=TZ)


@cache
def left(today: date, due: date, mode: str) -> int:
    if mode == "calendar":
        return (due - today).days
    count, day = 0, today
    while day < due:
        day += timedelta(days=1)
        count += is_working(day)
    return count


@dataclass
class Intent:
    key: str
    milestone: int
    rule: str
    due: date
    level: int | None
    send_at: datetime
    days: int  # days left (reminder) or overdue (escalation) as of the send day
    person: int  # the recipient


@dataclass
class Oracle:
    world: World
    mode: str
    pending: dict[str, Intent] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    sent: dict[str, tuple[datetime, Intent]] = field(default_factory=dict)
    # milestone -> [due, level, resolved]; and resolved (milestone, due) pairs
    board: dict[int, list] = field(default_factory=dict)
    closed: set[tuple[int, date]] = field(default_factory=set)
    # pending reminders dropped because the milestone's official changed (the only reason
    # tracked): how many times, and the keys cancelled for it now (the rule puts such a
    # never-sent reminder back in the queue if its person is the owner again)
    recipient_changed: int = 0
    dropped_for_recipient: set[str] = field(default_factory=set)

    def reachable(self, person: int | None) -> bool:
        return person is not None and person not in self.world.opted_out

    def parties(self, milestone: int, parties: tuple[str, ...]) -> list[int]:
        project = self.world.project_of[milestone]
        found: list[int] = []
        for party in parties:
            people = {
                "owner": [self.world.owner(milestone)],
                "lead_leader": [self.world.leader_of.get(project)],
                "supervisors": self.world.supervisors,
            }[party]
            for person in people:
                if self.reachable(person) and person not in found:
                    found.append(person)
        return found

    def add(self, intent: Intent) -> None:
        if intent.key not in self.created or intent.key in self.dropped_for_recipient:
            self.created.add(intent.key)
            self.dropped_for_recipient.discard(intent.key)
            self.pending[intent.key] = intent

    def escalate_sms(self, now: datetime, milestone: int, level: int) -> None:
        due = self.world.due[milestone]
        send_at = next_opening(now, self.mode)
        parties = next(p for _, lv, p in LEVELS if lv == level)
        for person in self.parties(milestone, parties):
            self.add(Intent(f"escalation:{milestone}:{due}:{level}:{person}", milestone, "escalation", due, level,
                            send_at, (send_at.date() - due).days, person))

    def tick(self, now: datetime) -> None:
        today = now.date()
        world = self.world
        # board items
        for milestone, item in list(self.board.items()):
            item_due, level, resolved = item
            if resolved:
                continue
            due = world.due[milestone]
            if not world.watched(milestone):
                item[2] = True
                self.closed.add((milestone, item_due))
            elif due != item_due and due >= today:
                item[2] = True
                self.closed.add((milestone, item_due))
            elif due != item_due:
                over = (today - due).days
                target = max((lv for days, lv, _ in LEVELS if over >= days), default=0)
                item[0], item[1] = due, max(level, target)
                if target > level:
                    self.escalate_sms(now, milestone, target)
        for milestone in sorted(world.exists):
            if not world.watched(milestone):
                continue
            due = world.due[milestone]
            over = (today - due).days
            target = max((lv for days, lv, _ in LEVELS if over >= days), default=0)
            if not target:
                continue
            item = self.board.get(milestone)
            if item is None or (item[2] and item[0] != due and (milestone, due) not in self.closed):
                self.board[milestone] = [due, target, False]
                self.escalate_sms(now, milestone, target)
            elif not item[2] and item[0] == due and target > item[1]:
                item[1] = target
                self.escalate_sms(now, milestone, target)
        # reminders wanted now
        wanted: dict[int, Intent] = {}
        for milestone in sorted(world.exists):
            if not world.watched(milestone):
                continue
            due = world.due[milestone]
            owner = world.owner(milestone)
            if due < today or not self.reachable(owner):
                continue
            crossed = [offset for offset in OFFSETS if left(today, due, self.mode) <= offset]
            if not crossed:
                continue
            send_at = next_opening(now, self.mode)
            if send_at.date() > due:
                continue
            offset = min(crossed)
            wanted[milestone] = Intent(f"reminder:{milestone}:{due}:{offset}:{owner}", milestone, "reminder", due,
                                       None, send_at, left(send_at.date(), due, self.mode), owner)
        # cancel what went stale
        for key, intent in list(self.pending.items()):
            milestone = intent.milestone
            stale = not world.watched(milestone) or intent.due != world.due[milestone]
            if intent.rule == "reminder":
                if not stale and intent.person != world.owner(milestone):
                    self.recipient_changed += 1
                    self.dropped_for_recipient.add(key)
                    stale = True
                current = wanted.get(milestone)
                stale = stale or intent.due < today or (current is not None and current.key != key)
            else:
                item = self.board.get(milestone)
                stale = stale or item is None or item[2] or item[0] != intent.due or intent.level < item[1]
            if stale:
                del self.pending[key]
        for intent in wanted.values():
            self.add(intent)
        # deliver
        if sending_day(today, self.mode) and WINDOW[0] <= now.time() < WINDOW[1]:
            for key, intent in list(self.pending.items()):
                if intent.send_at <= now:
                    self.sent[key] = (now, intent)
                    del self.pending[key]


# ------------------------------------------------------------------ the run


def simulate(sessions, *, mode: str, first: date, last: date, count: int, seed: int):
    rng = random.Random(seed)
    world, changes = build_registry(sessions, rng, first, last + timedelta(days=-20), count)
    settings = fast_settings(reminders__days_before=OFFSETS, reminders__day_mode=mode)
    oracle = Oracle(world=World(**{k: (set(v) if isinstance(v, set) else dict(v) if isinstance(v, dict) else list(v))
                                   for k, v in world.__dict__.items()}), mode=mode)

    class Clock:
        current = EPOCH

        def now(self):
            return self.current

    clock = Clock()
    backend = RecordingBackend(clock)
    instants = sorted(
        [datetime.combine(first + timedelta(days=d), t, tzinfo=TZ) for d in range((last - first).days + 1) for t in TICKS]
    )
    change_index = 0
    for instant in instants:
        while change_index < len(changes) and changes[change_index].at <= instant:
            change = changes[change_index]
            apply_change(sessions, world, change)
            apply_change_oracle(oracle.world, change)
            change_index += 1
        clock.current = instant
        run_tick(sessions, settings, now=instant, backend=backend)
        oracle.tick(instant)
    return oracle, backend


def apply_change_oracle(world: World, change: Change) -> None:
    if change.kind == "create":
        world.exists.add(change.target)
    elif change.kind == "complete":
        world.completed.add(change.target)
    elif change.kind == "redate":
        world.due[change.target] = change.new_due
    elif change.kind == "stop":
        world.stopped_projects.add(change.target)
    elif change.kind == "project_owner":
        world.owner_of[change.target] = change.new_owner
    elif change.kind == "milestone_owner":
        world.milestone_owner[change.target] = change.new_owner


def check(sessions, oracle: Oracle, backend: RecordingBackend, mode: str) -> None:
    with db.transaction(sessions) as session:
        rows = session.execute(
            sa.select(Notification.id, Notification.dedup_key, Notification.state, Notification.sent_at,
                      Notification.body, Notification.recipient_id, Notification.last_error)
        ).all()
    sent_rows = {row.dedup_key: row for row in rows if row.state == "sent"}
    # one provider hand-over per sent row, never two for one intent
    assert len(backend.sent) == len(sent_rows)
    handed = [message.notification_id for message in backend.sent]
    assert len(handed) == len(set(handed)), "an outbox row was handed to the provider twice"
    # inside the window, on sending days only
    for when in backend.sent_at:
        assert WINDOW[0] <= when.time() < WINDOW[1], f"sent outside the window at {when}"
        assert sending_day(when.date(), mode), f"sent on a non-working day {when}"
    expected = {key: when for key, (when, _) in oracle.sent.items()}
    actual = {key: row.sent_at for key, row in sent_rows.items()}
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert not missing, f"{len(missing)} SMS the oracle expects were not sent, e.g. {missing[:5]}"
    assert not extra, f"{len(extra)} SMS were sent that the oracle forbids, e.g. {extra[:5]}"
    wrong_time = [key for key in expected if expected[key] != actual[key]]
    assert not wrong_time, f"sent at other instants than expected: {[(k, expected[k], actual[k]) for k in wrong_time[:3]]}"
    # no stale day counts and none for completed milestones at the time of sending
    unit = "天" if mode == "calendar" else "个工作日"
    for key, (_when, intent) in oracle.sent.items():
        body = sent_rows[key].body
        if intent.rule == "reminder":
            assert (f"剩余{intent.days}{unit}" in body) or (intent.days == 0 and "今天是截止日" in body), body
        else:
            assert f"逾期{intent.days}天" in body, body
    assert len(oracle.sent) > 200, "the simulation should exercise a few hundred messages"
    # a changed official: the pending reminder to the former one dropped, the new one reminded
    for key, (_, intent) in oracle.sent.items():
        assert sent_rows[key].recipient_id == intent.person, key
    dropped = {row.dedup_key for row in rows if row.last_error == "cancelled: recipient_changed"}
    assert dropped == oracle.dropped_for_recipient and oracle.recipient_changed > 0
    reminded = {(intent.milestone, intent.due) for _, intent in oracle.sent.values() if intent.rule == "reminder"}
    changed_hands = [pair for pair in reminded
                     if len({i.person for _, i in oracle.sent.values() if (i.milestone, i.due) == pair
                             and i.rule == "reminder"}) > 1]
    assert changed_hands, "the simulation should remind a new official after a change of owner"


def test_a_year_in_calendar_mode_matches_the_oracle(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'year.db'}")
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    oracle, backend = simulate(sessions, mode="calendar", first=date(2026, 1, 1), last=date(2026, 12, 31),
                               count=210, seed=20260101)
    check(sessions, oracle, backend, "calendar")
    kinds = {intent.rule for _, intent in oracle.sent.values()}
    assert kinds == {"reminder", "escalation"}
    engine.dispose()


def test_spring_festival_quarter_in_workdays_mode_matches_the_oracle(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'quarter.db'}")
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    oracle, backend = simulate(sessions, mode="workdays", first=date(2026, 1, 10), last=date(2026, 4, 10),
                               count=180, seed=7)
    check(sessions, oracle, backend, "workdays")
    sent_days = {when.date() for when in backend.sent_at}
    assert date(2026, 2, 14) in sent_days or date(2026, 2, 28) in sent_days  # 调休 Saturdays send
    assert not any(date(2026, 2, 15) <= day <= date(2026, 2, 23) for day in sent_days)
    engine.dispose()
