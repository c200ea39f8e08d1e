"""What an official does on their page: report progress, report completion with evidence,
ask for an extension. Each is audited with the official as actor.

A completion or extension puts the milestone in 待审核 (`review_pending_since`, set by a
compare-and-set so a milestone has one pending request at a time) until a supervisor
approves or returns it (`board.reviews`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.domain import audit
from deadline_watch.domain.models import (
    Milestone,
    MilestoneStatus,
    Notification,
    OfficialRequest,
    Person,
    Project,
    ProjectStatus,
    RequestKind,
    RequestState,
    responsible_person_id,
)
from deadline_watch.officials import evidence as evidence_files
from deadline_watch.officials.sign_in import official_by_mobile
from deadline_watch.sms.notices import queue_notice

NOTE_LIMIT = 500


class RequestError(DeadlineWatchError):
    """A request the page refuses (plain Chinese for the official)."""


@dataclass(frozen=True)
class Submitted:
    request_id: int
    milestone_id: int
    files: int


def actor_for(person_id: int) -> str:
    return f"person:{person_id}"


def owned_milestone(session: Session, person_id: int, milestone_id: int) -> Milestone:
    """The open milestone of an active project this person answers for (as owner); the
    same refusal whether it does not exist or is someone else's."""
    milestone = session.scalars(
        sa.select(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Milestone.id == milestone_id,
            responsible_person_id() == person_id,
            Milestone.status == MilestoneStatus.OPEN.value,
            Milestone.completed_on.is_(None),
            Project.status == ProjectStatus.ACTIVE.value,
        )
    ).first()
    if milestone is None:
        raise RequestError("找不到该督办事项,或它不由您负责。", "no such open milestone of yours")
    return milestone


def _clean(text: str, *, field: str, required: bool) -> str:
    cleaned = "".join(char for char in (text or "") if char.isprintable() or char in "\n\t").strip()
    if required and not cleaned:
        raise RequestError(f"请填写{field}。", f"{field} is required")
    if len(cleaned) > NOTE_LIMIT:
        raise RequestError(f"{field}最多 {NOTE_LIMIT} 字。", f"{field} is limited to {NOTE_LIMIT} characters")
    return cleaned


def _mark_pending(session: Session, milestone: Milestone, *, now: datetime) -> None:
    result = session.execute(
        sa.update(Milestone)
        .where(
            Milestone.id == milestone.id,
            Milestone.review_pending_since.is_(None),
            Milestone.status == MilestoneStatus.OPEN.value,
            Milestone.completed_on.is_(None),
        )
        .values(review_pending_since=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise RequestError(
            "该节点已有待审核的申报,请等待督查室审核后再提交。", "this milestone already has a request waiting for review"
        )
    session.refresh(milestone)


def _add(session: Session, milestone: Milestone, person_id: int, *, now: datetime, **values: object) -> OfficialRequest:
    request = OfficialRequest(
        milestone_id=milestone.id, person_id=person_id, created_at=now, due_date_at_request=milestone.due_date,
        **values,
    )
    session.add(request)
    session.flush()
    return request


def _audit(session: Session, request: OfficialRequest, action: str, *, now: datetime, after: dict) -> None:
    audit.record(
        session, now=now, actor=actor_for(request.person_id), action=action, entity_type="milestone",
        entity_id=request.milestone_id, after={"request_id": request.id, **after},
    )


def record_progress(
    session: Session, person_id: int, milestone_id: int, *, note: str, percent: str | int | None, now: datetime
) -> Submitted:
    """填报进展: a note (required, ≤500 characters) and an optional percentage; not reviewed."""
    milestone = owned_milestone(session, person_id, milestone_id)
    text = _clean(note, field="进展情况", required=True)
    value: int | None = None
    if percent not in (None, ""):
        try:
            value = int(str(percent).strip().rstrip("%"))
        except ValueError:
            value = -1
        if not 0 <= value <= 100:
            raise RequestError("完成百分比请填 0 到 100 之间的整数。", "percent must be 0-100")
    request = _add(session, milestone, person_id, now=now, kind=RequestKind.PROGRESS.value,
                   state=RequestState.NOTED.value, note=text, percent=value)
    _audit(session, request, "official.progress", now=now, after={"note": text, "percent": value})
    return Submitted(request.id, milestone.id, 0)


def request_completion(
    session: Session,
    person_id: int,
    milestone_id: int,
    *,
    completed_on: date | None,
    note: str,
    files: list[evidence_files.EvidenceUpload],
    settings: Settings,
    now: datetime,
    today: date,
    source: str = "page",
) -> Submitted:
    """申报完成: the date it was done (not in the future), a note and 1–10 evidence files
    (none when it comes from an SMS reply). The milestone becomes 待审核."""
    milestone = owned_milestone(session, person_id, milestone_id)
    if completed_on is None:
        raise RequestError("请填写完成日期。", "completion date is required")
    if completed_on > today:
        raise RequestError("完成日期不能晚于今天。", "the completion date cannot be in the future")
    text = _clean(note, field="完成情况说明", required=False)
    checked = evidence_files.check_files(files, settings, required=source == "page")
    _mark_pending(session, milestone, now=now)
    request = _add(session, milestone, person_id, now=now, kind=RequestKind.COMPLETION.value,
                   state=RequestState.PENDING.value, reported_completed_on=completed_on, note=text, source=source)
    stored = evidence_files.store(session, checked, request_id=request.id, milestone_id=milestone.id,
                                  person_id=person_id, now=now)
    _audit(session, request, "official.completion_requested", now=now, after={
        "completed_on": completed_on, "note": text, "source": source,
        "files": [{"name": row.filename, "type": row.content_type, "size": row.size, "sha256": row.sha256}
                  for row in stored],
    })
    return Submitted(request.id, milestone.id, len(stored))


def request_extension(
    session: Session, person_id: int, milestone_id: int, *, proposed_due_date: date | None, reason: str,
    now: datetime,
) -> Submitted:
    """申请延期: a new due date later than the current one and a reason; 待审核 until reviewed."""
    milestone = owned_milestone(session, person_id, milestone_id)
    if proposed_due_date is None:
        raise RequestError("请填写申请延期到的日期。", "proposed due date is required")
    if proposed_due_date <= milestone.due_date:
        raise RequestError("延期后的日期必须晚于当前截止日期。", "the new date must be after the current due date")
    text = _clean(reason, field="延期理由", required=True)
    _mark_pending(session, milestone, now=now)
    request = _add(session, milestone, person_id, now=now, kind=RequestKind.EXTENSION.value,
                   state=RequestState.PENDING.value, proposed_due_date=proposed_due_date, note=text)
    _audit(session, request, "official.extension_requested", now=now,
           after={"proposed_due_date": proposed_due_date, "due_date": milestone.due_date, "reason": text})
    return Submitted(request.id, milestone.id, 0)


def milestone_for_reply(session: Session, person: Person) -> Milestone | None:
    """The milestone a bare "完成" reply means: the one of the last SMS the person was sent
    (when it is still open and not already waiting for review), else, if they never got
    one, their open milestone with the earliest due date."""
    open_mine = (
        sa.select(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            responsible_person_id() == person.id,
            Milestone.status == MilestoneStatus.OPEN.value,
            Milestone.completed_on.is_(None),
            Milestone.review_pending_since.is_(None),
            Project.status == ProjectStatus.ACTIVE.value,
        )
    )
    last_sms = session.scalar(
        sa.select(Notification.milestone_id)
        .where(Notification.recipient_id == person.id, Notification.sent_at.is_not(None))
        .order_by(Notification.sent_at.desc(), Notification.id.desc())
        .limit(1)
    )
    if last_sms is not None:
        return session.scalars(open_mine.where(Milestone.id == last_sms)).first()
    return session.scalars(open_mine.order_by(Milestone.due_date, Milestone.id)).first()


def history(session: Session, milestone_id: int, *, limit: int = 30) -> list[OfficialRequest]:
    """The milestone's requests and progress reports, newest first."""
    return list(session.scalars(
        sa.select(OfficialRequest).where(OfficialRequest.milestone_id == milestone_id)
        .order_by(OfficialRequest.id.desc()).limit(limit)
    ))


def completion_from_reply(session: Session, mobile: str, settings: Settings, *, now: datetime,
                          today: date) -> Submitted | None:
    """An SMS reply "完成"/"已完成" from a registered official: a completion request without
    evidence (completed today) for their most urgent open milestone, and an SMS back with
    their link to add evidence. None when the number is not an official's or nothing is open."""
    person = official_by_mobile(session, mobile)
    if person is None:
        return None
    milestone = milestone_for_reply(session, person)
    if milestone is None:
        return None
    submitted = request_completion(
        session, person.id, milestone.id, completed_on=today, note="短信回复“完成”", files=[], settings=settings,
        now=now, today=today, source="sms",
    )
    queue_notice(session, person=person, milestone=milestone, template="reply_acknowledged",
                 dedup_key=f"reply:{submitted.request_id}", settings=settings, now=now)
    return submitted
