"""Supervisors review officials' requests (待审核): the list, one request's detail, 通过 and 退回.

Approving a completion completes the milestone on the date the official reported
(`board.completion`: pending SMS cancelled, escalation resolved 已逾期完成 when late);
approving an extension moves the due date, keeps the first one in `original_due_date`
for evaluation and resolves the escalation as 已批准延期 (the next scan plans reminders
for the new date). Returning needs a reason, restores the milestone as it was and sends
the official an SMS with the reason and their link. Each decision is a compare-and-set on
the request's state: of two supervisors only the first decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from deadline_watch.board import completion
from deadline_watch.board.evaluation import extension_granted, request_returned
from deadline_watch.board.supervision import SupervisionError, actor_name
from deadline_watch.core.config import Settings
from deadline_watch.core.errors import NotFoundError
from deadline_watch.domain import audit, outbox
from deadline_watch.domain import board_items as escalation
from deadline_watch.domain.models import (
    AuditEvent,
    EvidenceFile,
    Milestone,
    OfficialRequest,
    Person,
    Project,
    RequestKind,
    RequestState,
    User,
)
from deadline_watch.sms.messages import date_text
from deadline_watch.sms.notices import queue_notice

KIND_ZH = {"completion": "申报完成", "extension": "申请延期", "progress": "填报进展"}
STATE_ZH = {"pending": "待审核", "approved": "已通过", "returned": "已退回", "noted": "已填报"}
REASON_LIMIT = 300


@dataclass(frozen=True)
class ReviewRow:
    request_id: int
    kind: str
    created_at: datetime
    project_code: str
    project_name: str
    milestone: str
    due_date: date
    official: str
    reported_completed_on: date | None
    proposed_due_date: date | None
    files: int


@dataclass
class ReviewDetail:
    request: OfficialRequest
    milestone: Milestone
    project: Project
    official: Person
    files: list[EvidenceFile]
    history: list[AuditEvent]
    earlier_requests: list[OfficialRequest]


def pending_count(session: Session) -> int:
    return int(session.scalar(
        sa.select(sa.func.count(OfficialRequest.id)).where(OfficialRequest.state == RequestState.PENDING.value)
    ) or 0)


def pending_reviews(session: Session, *, limit: int = 200) -> list[ReviewRow]:
    """Pending completion and extension requests, oldest first."""
    files = (
        sa.select(sa.func.count(EvidenceFile.id)).where(EvidenceFile.request_id == OfficialRequest.id)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(OfficialRequest, Milestone.name, Milestone.due_date, Project.code, Project.name, Person.name, files)
        .join(Milestone, Milestone.id == OfficialRequest.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .join(Person, Person.id == OfficialRequest.person_id)
        .where(OfficialRequest.state == RequestState.PENDING.value)
        .order_by(OfficialRequest.created_at, OfficialRequest.id)
        .limit(limit)
    ).all()
    return [
        ReviewRow(request.id, request.kind, request.created_at, code, project_name, milestone, due, official,
                  request.reported_completed_on, request.proposed_due_date, int(count or 0))
        for request, milestone, due, code, project_name, official, count in rows
    ]


def _request(session: Session, request_id: int) -> OfficialRequest:
    request = session.get(OfficialRequest, request_id)
    if request is None or request.kind == RequestKind.PROGRESS.value:
        raise NotFoundError(f"申报不存在: {request_id}", f"no such request: {request_id}")
    return request


def review_detail(session: Session, request_id: int) -> ReviewDetail:
    request = _request(session, request_id)
    milestone = session.scalars(
        sa.select(Milestone).options(joinedload(Milestone.project)).where(Milestone.id == request.milestone_id)
    ).one()
    files = list(session.scalars(
        sa.select(EvidenceFile).where(EvidenceFile.request_id == request.id).order_by(EvidenceFile.id)
    ))
    history = list(session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "milestone", AuditEvent.entity_id == milestone.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ))
    earlier = list(session.scalars(
        sa.select(OfficialRequest)
        .where(OfficialRequest.milestone_id == milestone.id, OfficialRequest.id != request.id)
        .order_by(OfficialRequest.id.desc())
        .limit(20)
    ))
    return ReviewDetail(request, milestone, milestone.project, request.person, files, history, earlier)


def evidence_file(session: Session, file_id: int) -> EvidenceFile:
    """One evidence file with its bytes, for a logged-in board user."""
    row = session.get(EvidenceFile, file_id)
    if row is None:
        raise NotFoundError(f"文件不存在: {file_id}", f"no such file: {file_id}")
    return row


def _decide(session: Session, request: OfficialRequest, state: RequestState, *, reviewer: User, now: datetime,
            reason: str | None = None) -> None:
    result = session.execute(
        sa.update(OfficialRequest)
        .where(OfficialRequest.id == request.id, OfficialRequest.state == RequestState.PENDING.value)
        .values(state=state.value, reviewer_id=reviewer.id, reviewed_at=now, return_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise SupervisionError(
            f"申报 {request.id} 已被处理,请刷新页面", f"request {request.id} was already decided"
        )
    session.execute(
        sa.update(Milestone).where(Milestone.id == request.milestone_id)
        .values(review_pending_since=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)


def approve(session: Session, request_id: int, *, reviewer: User, now: datetime) -> OfficialRequest:
    """通过."""
    request = _request(session, request_id)
    _decide(session, request, RequestState.APPROVED, reviewer=reviewer, now=now)
    milestone = session.get(Milestone, request.milestone_id)
    assert milestone is not None
    session.refresh(milestone)
    actor = actor_name(reviewer)
    if request.kind == RequestKind.COMPLETION.value:
        assert request.reported_completed_on is not None
        files = session.scalar(sa.select(sa.func.count(EvidenceFile.id)).where(EvidenceFile.request_id == request.id))
        completion.complete(
            session, milestone, on=request.reported_completed_on, now=now, actor=actor,
            evidence=f"佐证资料 {files} 份,申报 #{request.id} 审核通过" if files else f"短信回复完成,申报 #{request.id} 审核通过",
        )
    else:
        assert request.proposed_due_date is not None
        before = {"due_date": milestone.due_date, "original_due_date": milestone.original_due_date}
        milestone.original_due_date = milestone.original_due_date or milestone.due_date
        milestone.due_date = request.proposed_due_date
        milestone.updated_at = now
        session.flush()
        audit.record(session, now=now, actor=actor, action="milestone.extended", entity_type="milestone",
                     entity_id=milestone.id, before=before,
                     after={"due_date": milestone.due_date, "original_due_date": milestone.original_due_date,
                            "request_id": request.id})
        # reminders for the old date are stale; the next scan plans them for the new one
        outbox.cancel_for_milestone(session, milestone.id, "due_date_changed", now=now)
        note = f"批准延期至 {milestone.due_date.isoformat()}"
        for current in escalation.unresolved_for_milestone(session, milestone.id):
            escalation.resolve(session, current, "deadline_extended", now=now, note=note, actor=actor)
    audit.record(session, now=now, actor=actor, action="review.approved", entity_type="milestone",
                 entity_id=request.milestone_id, after={"request_id": request.id, "kind": request.kind})
    return request


def return_request(session: Session, request_id: int, *, reason: str, reviewer: User, settings: Settings,
                   now: datetime) -> OfficialRequest:
    """退回: a reason is required; the milestone is as before the request and the watch resumes."""
    text = " ".join((reason or "").split())
    if not text:
        raise SupervisionError("退回必须填写原因", "a reason is required to return a request")
    if len(text) > REASON_LIMIT:
        raise SupervisionError(f"退回原因最多 {REASON_LIMIT} 字", f"reason is limited to {REASON_LIMIT} characters")
    request = _request(session, request_id)
    _decide(session, request, RequestState.RETURNED, reviewer=reviewer, now=now, reason=text)
    audit.record(session, now=now, actor=actor_name(reviewer), action="review.returned", entity_type="milestone",
                 entity_id=request.milestone_id, after={"request_id": request.id, "kind": request.kind,
                                                        "reason": text})
    milestone = session.get(Milestone, request.milestone_id)
    person = session.get(Person, request.person_id)
    assert milestone is not None and person is not None
    queue_notice(session, person=person, milestone=milestone, template="request_returned",
                 dedup_key=f"returned:{request.id}", settings=settings, now=now, reason=text,
                 date_text=date_text(milestone.due_date))
    return request


@dataclass(frozen=True)
class Progress:
    note: str
    percent: int | None
    at: datetime
    official: str


def latest_progress(session: Session, milestone_ids: list[int] | sa.Select, *,
                    limit: int | None = None) -> dict[int, Progress]:
    """The newest 填报进展 of each milestone (project page, escalation page, 画像), newest
    first. `milestone_ids` may be a SELECT of ids (a unit's milestones): the database then
    picks the `limit` newest notes itself instead of the caller fetching every id."""
    if isinstance(milestone_ids, list) and not milestone_ids:
        return {}
    newest = (
        sa.select(sa.func.max(OfficialRequest.id))
        .where(OfficialRequest.milestone_id.in_(milestone_ids), OfficialRequest.kind == RequestKind.PROGRESS.value)
        .group_by(OfficialRequest.milestone_id)
    )
    query = (
        sa.select(OfficialRequest.milestone_id, OfficialRequest.note, OfficialRequest.percent,
                  OfficialRequest.created_at, Person.name)
        .join(Person, Person.id == OfficialRequest.person_id)
        .where(OfficialRequest.id.in_(newest))
        .order_by(OfficialRequest.created_at.desc(), OfficialRequest.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return {row[0]: Progress(row[1], row[2], row[3], row[4]) for row in session.execute(query)}


def review_counts(session: Session, milestone_ids: list[int] | sa.Select) -> tuple[int, int]:
    """(extensions granted, requests returned) over these milestones: the evaluation's
    definitions (`evaluation.extension_granted`, `request_returned`), for the 体检 and 画像."""
    if isinstance(milestone_ids, list) and not milestone_ids:
        return 0, 0
    extensions, returns = session.execute(
        sa.select(sa.func.count().filter(extension_granted()), sa.func.count().filter(request_returned()))
        .where(OfficialRequest.milestone_id.in_(milestone_ids))
    ).one()
    return int(extensions or 0), int(returns or 0)
