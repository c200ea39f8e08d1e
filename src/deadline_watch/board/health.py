"""项目体检: one project's health score (0-100), its band and the reasons, as a pure function.

The formula lives here and nowhere else (docs/reports.md restates it). Start at 100 and
subtract, then clamp to 0..100:

- **timeliness**, per milestone, weighted by stage (谋划立项 1.0, 组织实施 1.5, 阶段成果 2.0,
  验收结项 2.5, any other node 1.0): an open milestone overdue by d days costs
  `weight x min(d, 30)`; one completed d days late costs half of that;
- **escalation**: the highest level any of its escalations reached costs 一级 5, 二级 10,
  三级 and above 20 (once per project, not per item);
- **extensions** granted: 4 each, at most 12;
- **returned requests** (a completion or extension request sent back): 3 each, at most 12;
- **evidence coverage**: of the milestones completed, the share without evidence costs up
  to 10 (`10 x (1 - covered / completed)`); nothing completed costs nothing.

The score is rounded half up to an integer. Bands: 健康 >= 85, 关注 >= 70, 预警 >= 50,
严重 below. Each deduction adds a reason in the board's words ("阶段成果逾期 12 天",
"已达二级督办"), largest deduction first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from deadline_watch.board.lights import Light
from deadline_watch.domain.models import MilestoneStatus
from deadline_watch.sms.messages import level_text

__all__ = [
    "Band",
    "MilestoneFacts",
    "Health",
    "STAGE_WEIGHTS",
    "band_for",
    "score_project",
    "project_health",
    "scored_milestone_ids",
]

STAGE_WEIGHTS = {"谋划立项": 1.0, "组织实施": 1.5, "阶段成果": 2.0, "验收结项": 2.5}
OTHER_STAGE_WEIGHT = 1.0
DAYS_CAP = 30
LATE_COMPLETION_FACTOR = 0.5
ESCALATION_PENALTY = {1: 5, 2: 10}
ESCALATION_PENALTY_HIGHER = 20
EXTENSION_PENALTY, EXTENSION_CAP = 4, 12
RETURN_PENALTY, RETURN_CAP = 3, 12
EVIDENCE_PENALTY = 10


class Band(StrEnum):
    HEALTHY = "健康"
    WATCH = "关注"
    WARNING = "预警"
    SEVERE = "严重"

    @property
    def css(self) -> str:
        return _CSS[self]


_CSS = {Band.HEALTHY: "healthy", Band.WATCH: "watch", Band.WARNING: "warning", Band.SEVERE: "severe"}
BAND_FLOORS = ((85, Band.HEALTHY), (70, Band.WATCH), (50, Band.WARNING))


@dataclass(frozen=True)
class MilestoneFacts:
    """What the score needs to know about one milestone, as plain values."""

    stage: str
    days_overdue: int = 0  # open and past due: days since the due date (the board's figure)
    days_late: int = 0  # completed after the due date: days late
    completed: bool = False
    has_evidence: bool = False
    max_level: int = 0  # highest escalation level reached for this milestone, 0 = none


@dataclass(frozen=True)
class Deduction:
    points: float
    reason: str


@dataclass(frozen=True)
class Health:
    score: int
    band: Band
    deductions: tuple[Deduction, ...]

    @property
    def reasons(self) -> list[str]:
        return [d.reason for d in self.deductions]

    @property
    def summary(self) -> str:
        """The reasons in one line: "阶段成果逾期 12 天, 已达二级督办"."""
        return ", ".join(self.reasons) if self.reasons else "各节点按期推进"


def band_for(score: int) -> Band:
    for floor, band in BAND_FLOORS:
        if score >= floor:
            return band
    return Band.SEVERE


def _weight(stage: str) -> float:
    return STAGE_WEIGHTS.get(stage, OTHER_STAGE_WEIGHT)


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def score_project(milestones: Iterable[MilestoneFacts], *, extensions: int = 0, returns: int = 0) -> Health:
    """The health of one project from its (non-cancelled) milestones' facts."""
    milestones = list(milestones)
    deductions: list[Deduction] = []
    for m in milestones:
        if m.days_overdue > 0:
            deductions.append(Deduction(_weight(m.stage) * min(m.days_overdue, DAYS_CAP),
                                        f"{m.stage}逾期 {m.days_overdue} 天"))
        elif m.days_late > 0:
            points = _weight(m.stage) * min(m.days_late, DAYS_CAP) * LATE_COMPLETION_FACTOR
            deductions.append(Deduction(points, f"{m.stage}逾期 {m.days_late} 天完成"))
    top_level = max((m.max_level for m in milestones), default=0)
    if top_level > 0:
        points = ESCALATION_PENALTY.get(top_level, ESCALATION_PENALTY_HIGHER)
        deductions.append(Deduction(points, f"已达{level_text(top_level)}督办"))
    if extensions > 0:
        deductions.append(Deduction(min(extensions * EXTENSION_PENALTY, EXTENSION_CAP), f"延期 {extensions} 次"))
    if returns > 0:
        deductions.append(Deduction(min(returns * RETURN_PENALTY, RETURN_CAP), f"申请被退回 {returns} 次"))
    completed = [m for m in milestones if m.completed]
    if completed:
        covered = sum(1 for m in completed if m.has_evidence)
        if covered < len(completed):
            points = EVIDENCE_PENALTY * (1 - covered / len(completed))
            deductions.append(Deduction(points, f"佐证资料 {covered}/{len(completed)} 个节点"))
    total = sum(d.points for d in deductions)
    score = max(0, min(100, _round_half_up(100 - total)))
    ordered = tuple(sorted(deductions, key=lambda d: -d.points))  # stable: equal points keep their order
    return Health(score=score, band=band_for(score), deductions=ordered)


def scored_milestone_ids(detail) -> list[int]:
    """The milestones of a `project_page.ProjectDetail` the score counts (not cancelled):
    whose extensions and returned requests the caller counts (`reviews.review_counts`)."""
    return [m.id for m in detail.milestones if m.status != MilestoneStatus.CANCELLED]


def project_health(detail, *, extensions: int = 0, returns: int = 0) -> Health:
    """The score of a `project_page.ProjectDetail` (its milestones and escalations), with
    the extensions granted and requests returned over `scored_milestone_ids(detail)`.

    Days overdue are the project page's own figures (`lights.milestone_days_overdue`):
    running for a red milestone, until completion for a completed one."""
    levels: dict[str, int] = {}
    for e in detail.escalations:
        if e.reason == "overdue":
            levels[e.milestone] = max(levels.get(e.milestone, 0), e.level)
    evidence = {ev.milestone for ev in detail.evidence if ev.evidence}
    facts = []
    for m in detail.milestones:
        if m.status == MilestoneStatus.CANCELLED:
            continue
        completed = m.completed_on is not None or m.status == MilestoneStatus.COMPLETED
        facts.append(MilestoneFacts(
            stage=m.name,
            days_overdue=m.days_overdue if m.light is Light.RED else 0,
            days_late=m.days_overdue if completed else 0,
            completed=completed,
            has_evidence=m.name in evidence,
            max_level=levels.get(m.name, 0),
        ))
    return score_project(facts, extensions=extensions, returns=returns)
