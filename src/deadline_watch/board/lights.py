"""Traffic lights: the colour of one milestone on a given day (the rule), and the rows
the project board and the project page are built from.

`classify` is a plain function of dates and statuses; `milestone_light` applies it to one
milestone. Today's date always comes in as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from deadline_watch.core.config import Settings
from deadline_watch.domain.models import LabelledEnum, MilestoneStatus, ProjectStatus
from deadline_watch.domain.recurrence import is_recurring, is_standing, series_label
from deadline_watch.domain.workdays import days_overdue

__all__ = [
    "Light",
    "MilestoneLight",
    "ProjectLights",
    "classify",
    "milestone_days_overdue",
    "milestone_light",
    "reminder_days",
]


class Light(LabelledEnum):
    GREEN = "green", "正常推进"  # on track
    YELLOW = "yellow", "临近截止"  # inside the reminder window, not completed
    RED = "red", "已逾期"  # overdue: past due, not completed, project active
    GREY = "grey", "已完成/已终止"  # completed, cancelled, or project not active


def reminder_days(settings: Settings) -> int:
    """The reminder window: the largest configured "days before" offset."""
    return max(settings.reminders.days_before)


def classify(
    milestone_due: date,
    completed_on: date | None,
    milestone_status: str,
    project_status: str,
    *,
    today: date,
    reminder_days: int,
) -> Light:
    """The light of one milestone on `today`.

    Due today is still yellow (a milestone is overdue from the day after its due date);
    due exactly `reminder_days` ahead is yellow, one day further is green. Calendar days
    are used whatever `day_mode` says: the board shows distance to the deadline, the
    working-day rule only moves when the SMS goes out.
    """
    if (
        completed_on is not None
        or milestone_status in (MilestoneStatus.COMPLETED, MilestoneStatus.CANCELLED)
        or project_status != ProjectStatus.ACTIVE
    ):
        return Light.GREY
    days_left = (milestone_due - today).days
    if days_left < 0:
        return Light.RED
    if days_left <= reminder_days:
        return Light.YELLOW
    return Light.GREEN


def milestone_days_overdue(
    light: Light, milestone_due: date, completed_on: date | None, status: str, *, today: date
) -> int:
    """`domain.workdays.days_overdue` of a milestone: running for a red one, until completion
    for a completed one; 0 for one cancelled or no longer watched (project not active)."""
    if light is Light.RED or (completed_on is not None and status != MilestoneStatus.CANCELLED):
        return days_overdue(today, milestone_due, stopped_on=completed_on)
    return 0


@dataclass(frozen=True)
class MilestoneLight:
    name: str
    due_date: date
    completed_on: date | None
    light: Light
    days_overdue: int
    id: int = 0
    status: str = MilestoneStatus.OPEN
    position: int = 0
    owner: str | None = None  # who answers for it (domain.models.responsible_person_id)
    pending_review: bool = False  # 待审核: an official's request waits for a supervisor


@dataclass(frozen=True)
class ProjectLights:
    code: str
    name: str
    unit: str
    level: str | None
    owner: str
    status: str
    milestones: list[MilestoneLight] = field(default_factory=list)
    id: int = 0
    schedule: str = ""  # Project.schedule: "", "standing" or a recurrence rule

    @property
    def standing(self) -> bool:
        """长期: no deadline; the board shows 长期, never a red or yellow light."""
        return is_standing(self.schedule)

    @property
    def series(self) -> str:
        """长期, the series of a recurring task (每月25日前), or "" for dated milestones."""
        return series_label(self.schedule)

    @property
    def current(self) -> list[MilestoneLight]:
        """The milestones the board lists: all of them; for a recurring task the occurrences
        still open (overdue ones and the current one), or the latest when none is."""
        if not is_recurring(self.schedule):
            return self.milestones
        return [m for m in self.milestones if m.light is not Light.GREY] or self.milestones[-1:]

    @property
    def worst(self) -> Light:
        """The most urgent light among the milestones (red > yellow > green > grey); grey
        for a standing task, whatever it still holds."""
        if self.standing:
            return Light.GREY
        order = (Light.RED, Light.YELLOW, Light.GREEN)
        for light in order:
            if any(m.light is light for m in self.milestones):
                return light
        return Light.GREY

    @property
    def days_overdue(self) -> int:
        """The most days overdue among the red milestones (what the project is late by now)."""
        if self.standing:
            return 0
        return max((m.days_overdue for m in self.milestones if m.light is Light.RED), default=0)



def milestone_light(
    milestone_id: int,
    name: str,
    position: int,
    due_date: date,
    completed_on: date | None,
    status: str,
    owner: str | None,
    *,
    project_status: str,
    today: date,
    window: int,
    pending_review: bool = False,
) -> MilestoneLight:
    """One milestone as the board and the project page show it: its light and days overdue."""
    light = classify(due_date, completed_on, status, project_status, today=today, reminder_days=window)
    return MilestoneLight(
        name=name,
        due_date=due_date,
        completed_on=completed_on,
        light=light,
        days_overdue=milestone_days_overdue(light, due_date, completed_on, status, today=today),
        id=milestone_id,
        status=status,
        position=position,
        owner=owner,
        pending_review=pending_review,
    )
