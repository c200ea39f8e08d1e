"""办结 with intent: which outcomes fit the milestone, resolving (with the referral that 移交问责
opens), and undoing a resolution so the item comes back to the queue.

已逾期完成 is a statement of fact: it is offered and accepted only when the milestone is
recorded as completed. An item resolved otherwise while its milestone is open stays in view
under 已办结未完成; undoing the resolution is a compare-and-set back to open.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.board import referrals, supervision
from deadline_watch.domain import board_items
from deadline_watch.domain.models import Escalation, Milestone, MilestoneStatus, Resolution, User

COMPLETED_ONLY = (Resolution.COMPLETED_LATE.value,)
# what a person may undo; the scan's own resolutions (cancelled, reached) follow the facts
UNDOABLE = tuple(resolution.value for resolution in supervision.HUMAN_RESOLUTIONS)


def milestone_completed(session: Session, escalation_id: int) -> bool:
    row = session.execute(
        sa.select(Milestone.status, Milestone.completed_on)
        .join(Escalation, Escalation.milestone_id == Milestone.id)
        .where(Escalation.id == escalation_id)
    ).first()
    return row is not None and (row[0] == MilestoneStatus.COMPLETED.value or row[1] is not None)


def allowed_resolutions(*, completed: bool) -> list[str]:
    """The outcomes a supervisor may choose: 已逾期完成 only for a completed milestone."""
    return [r.value for r in supervision.HUMAN_RESOLUTIONS if completed or r.value not in COMPLETED_ONLY]


def check_resolution(session: Session, escalation_id: int, resolution: str) -> None:
    """Refuse an outcome that does not fit (an unknown one, or 已逾期完成 for an open node)."""
    escalation = supervision.get_escalation(session, escalation_id)
    if escalation.state == "resolved":
        raise supervision.SupervisionError(f"督办事项 {escalation_id} 已办结,不能再更改",
                                           f"escalation {escalation_id} is resolved and final")
    if not resolution:
        raise supervision.SupervisionError("请选择办结方式", "choose a resolution")
    completed = milestone_completed(session, escalation_id)
    if resolution in COMPLETED_ONLY and not completed:
        raise supervision.SupervisionError(
            "节点尚未完成,不能以“已逾期完成”办结", "the milestone is not completed: cannot resolve as completed_late"
        )
    if resolution not in allowed_resolutions(completed=completed):
        raise supervision.SupervisionError(f"办结方式无效: {resolution}", f"invalid resolution: {resolution}")


def resolve_item(session: Session, escalation_id: int, *, resolution: str, note: str | None, actor: User,
                 now: datetime, today: date, tz: tzinfo) -> Escalation:
    """办结 after the checks; 移交问责 also opens the referral record with the facts."""
    check_resolution(session, escalation_id, resolution)
    escalation = supervision.resolve(session, escalation_id, resolution=resolution, note=note, actor=actor, now=now)
    if resolution == Resolution.REFERRED.value:
        session.flush()
        referrals.open_referral(session, escalation_id, actor=supervision.actor_name(actor), now=now, today=today,
                                tz=tz)
    return escalation


def undo_resolution(session: Session, escalation_id: int, *, actor: User, now: datetime,
                    note: str | None = None) -> Escalation:
    """撤销办结: a supervisor's resolution is withdrawn and the item is open again. A referral
    already handed over is a record and is not withdrawn here: such an item cannot be undone."""
    escalation = supervision.get_escalation(session, escalation_id)
    if escalation.state != "resolved":
        raise supervision.SupervisionError(f"督办事项 {escalation_id} 未办结,无需撤销",
                                           f"escalation {escalation_id} is not resolved")
    if escalation.resolution not in UNDOABLE:
        raise supervision.SupervisionError("该事项由系统根据节点状态办结,不能撤销",
                                           "resolved by the scan from the milestone's state: cannot be undone")
    if referrals.referral_for_escalation(session, escalation_id) is not None:
        raise supervision.SupervisionError("该事项已移交问责,移交记录不能撤销",
                                           "the item was referred for accountability: the referral stands")
    text = f"撤销办结:{note.strip()}" if note and note.strip() else "撤销办结,重新进入督办队列"
    if not board_items.reopen(session, escalation_id, resolutions=UNDOABLE, level=escalation.level, now=now,
                              actor=supervision.actor_name(actor), action="escalation.unresolved", note=text):
        raise supervision.SupervisionError(f"督办事项 {escalation_id} 已被他人更改,请刷新后重试",
                                           f"escalation {escalation_id} changed meanwhile")
    session.expire(escalation)
    return escalation
