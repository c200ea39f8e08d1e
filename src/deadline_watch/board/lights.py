"""Traffic lights: the colour of one milestone on a given day (the rule), and the rows
the project board and the project page are built from.

`classify` is a plain function of dates and statuses; `milestone_light` applies it to one
milestone. Today's date always comes in as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from deadline_watch.core.config import Settings
from deadline_watch.domain.models import MilestoneStatus, ProjectStatus

__all__ = [
    "Light",
    "MilestoneLight",
    "ProjectLights",
    "classify",
    "days_overdue",
    "milestone_light",
    "reminder_days",
]


class Light(StrEnum):
    GREEN = "green"  # on track
    YELLOW = "yellow"  # inside the reminder window, not completed
    RED = "red"  # overdue: past due, not completed, project active
    GREY = "grey"  # completed, cancelled, or project not active

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    Light.GREEN: "正常推进",
    Light.YELLOW: "临近截止",
    Light.RED: "已逾期",
    Light.GREY: "已完成/已终止",
}


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


def days_overdue(light: Light, milestone_due: date, *, today: date) -> int:
    """Days past the due date for a red milestone, 0 for every other light."""
    return (today - milestone_due).days if light is Light.RED else 0


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
    owner: str | None = None  # the milestone's own owner when it overrides the project's


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

    @property
    def worst(self) -> Light:
        """The most urgent light among the milestones (red > yellow > green > grey)."""
        order = (Light.RED, Light.YELLOW, Light.GREEN)
        for light in order:
            if any(m.light is light for m in self.milestones):
                return light
        return Light.GREY

    @property
    def days_overdue(self) -> int:
        return max((m.days_overdue for m in self.milestones), default=0)



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
) -> MilestoneLight:
    """One milestone as the board and the project page show it: its light and days overdue."""
    light = classify(due_date, completed_on, status, project_status, today=today, reminder_days=window)
    return MilestoneLight(
        name=name,
        due_date=due_date,
        completed_on=completed_on,
        light=light,
        days_overdue=days_overdue(light, due_date, today=today),
        id=milestone_id,
        status=status,
        position=position,
        owner=owner,
    )
