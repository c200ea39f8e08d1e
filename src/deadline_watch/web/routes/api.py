"""JSON API under /api/: the queue, escalation actions, projects and evaluation.

Logged-in browsers use their session cookie (writes need the `X-CSRF-Token` header);
scripts use `Authorization: Bearer <token>` from `deadline-watch users token NAME`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from deadline_watch.board import lights, project_page, supervision
from deadline_watch.board.co_unit_records import co_unit_records
from deadline_watch.core.logs import mask_mobile
from deadline_watch.web.auth import ACTORS, Viewer, Work, unit_of_work
from deadline_watch.web.queue_view import QueueQuery, queue_page
from deadline_watch.web.routes.escalations import EscalationId, apply_action
from deadline_watch.web.routes.evaluation import evaluate_for, parse_period
from deadline_watch.web.routes.projects import board_rows

router = APIRouter(prefix="/api", tags=["api"])

ERRORS = {
    401: {"description": "未登录 / not logged in (no session cookie or bearer token)"},
    403: {"description": "无权限或 CSRF 校验失败 / role not allowed, or CSRF token missing"},
}


def _mobile(viewer: Viewer, mobile: str | None) -> str | None:
    if mobile is None:
        return None
    return mobile if viewer.sees_mobiles else mask_mobile(mobile)


class EscalationItem(BaseModel):
    id: int
    project_code: str
    project_name: str
    milestone: str
    unit: str
    owner: str | None
    owner_mobile: str | None = Field(description="masked unless the caller is an admin")
    due_date: date
    days_overdue: int
    level: int
    state: str
    reason: str
    assignee: str | None
    last_sms_state: str | None = Field(description="state of the newest SMS about this milestone")


class EscalationPage(BaseModel):
    total: int
    page: int
    pages: int
    items: list[EscalationItem]


class NotificationItem(BaseModel):
    id: int
    rule: str
    level: int | None
    to: str | None
    state: str
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    provider_error_code: str | None


class HistoryItem(BaseModel):
    at: datetime
    actor: str
    action: str
    before: dict | None
    after: dict | None


class EscalationDetailOut(BaseModel):
    id: int
    project_code: str
    project_name: str
    project_level: str | None
    unit: str
    milestone: str
    owner: str
    owner_mobile: str | None
    lead_leader: str | None
    due_date: date
    days_overdue: int
    level: int
    state: str
    reason: str
    assignee: str | None
    resolution: str | None
    resolved_at: datetime | None
    notes: str
    reached_official: bool
    notifications: list[NotificationItem]
    history: list[HistoryItem]


class AssignIn(BaseModel):
    assignee: str = Field(max_length=64)


class NoteIn(BaseModel):
    text: str = Field(max_length=supervision.MAX_NOTE_LENGTH)


class ResolveIn(BaseModel):
    resolution: Literal["completed_late", "deadline_extended", "waived", "referred_for_accountability"]
    note: str | None = Field(default=None, max_length=supervision.MAX_NOTE_LENGTH)


class MilestoneOut(BaseModel):
    name: str
    due_date: date
    completed_on: date | None
    light: str
    days_overdue: int


class ProjectOut(BaseModel):
    code: str
    name: str
    unit: str
    level: str | None
    owner: str
    status: str
    light: str = Field(description="the most urgent light among the milestones (grey for a standing task)")
    schedule: str = Field("", description="长期 for a standing task (no deadline), the series of a recurring one "
                                          "(每月25日前), else empty")
    milestones: list[MilestoneOut]


class ProjectPage(BaseModel):
    total: int
    items: list[ProjectOut]


class ProjectEscalationOut(BaseModel):
    id: int
    milestone: str
    due_date: date
    level: int
    state: str
    reason: str
    resolution: str | None


class ProjectNotificationOut(BaseModel):
    id: int
    milestone: str
    rule: str
    to: str
    state: str
    created_at: datetime
    delivered_at: datetime | None


class ProjectDetailOut(ProjectOut):
    co_units: str
    lead_leader: str | None
    notifications: list[ProjectNotificationOut]
    escalations: list[ProjectEscalationOut]


class EvaluationRowOut(BaseModel):
    name: str
    unit: str | None = None
    mobile: str | None = None
    milestones_due: int
    completed_on_time: int
    completed_late: int
    still_overdue: int
    on_time_rate: float | None
    avg_days_late: float | None
    escalations_level2: int


class EvaluationOut(BaseModel):
    start: date
    end: date
    units: list[EvaluationRowOut]
    officials: list[EvaluationRowOut]
    co_units: list[EvaluationRowOut] = Field(
        description="with co_unit: that unit's record as 协办单位 (the projects it assists); else empty")


class Me(BaseModel):
    username: str
    role: str
    csrf_token: str | None = Field(description="send as X-CSRF-Token on writes made with the session cookie")


@router.get("/me", response_model=Me, responses=ERRORS, summary="Who is logged in")
def me(request: Request) -> Me:
    with unit_of_work(request) as work:
        return Me(username=work.viewer.username, role=work.viewer.role,
                  csrf_token=None if work.viewer.via_token else work.viewer.csrf_token)


@router.get("/escalations", response_model=EscalationPage, responses=ERRORS, summary="The escalation queue")
def list_escalations(
    request: Request,
    unit: str = "",
    level: str = "",
    state: Literal["", "open", "acknowledged", "resolved", "all"] = "",
    project_level: str = "",
    q: str = Query("", max_length=100),
    page: int = Query(1, ge=1, le=100_000),
    co_unit: str = Query("", max_length=200, description="协办单位: escalations of projects this unit assists"),
) -> EscalationPage:
    query = QueueQuery.from_params(unit=unit, level=level, state=state, project_level=project_level, text=q, page=page,
                                   co_unit=co_unit)
    with unit_of_work(request) as work:
        result = queue_page(work, query)
        items = [
            EscalationItem(**{**row.as_dict(), "owner_mobile": _mobile(work.viewer, row.owner_mobile)})
            for row in result.rows
        ]
        return EscalationPage(total=result.total, page=result.page, pages=result.pages, items=items)


def _detail_out(work: Work, escalation_id: EscalationId) -> EscalationDetailOut:
    detail = supervision.escalation_detail(work.session, escalation_id, today=work.today, tz=work.context.settings.tz)
    e = detail.escalation
    return EscalationDetailOut(
        id=e.id, project_code=detail.project_code, project_name=detail.project_name,
        project_level=detail.project_level, unit=detail.unit, milestone=detail.milestone, owner=detail.owner,
        owner_mobile=_mobile(work.viewer, detail.owner_mobile), lead_leader=detail.lead_leader,
        due_date=e.due_date, days_overdue=detail.days_overdue, level=e.level, state=e.state, reason=e.reason,
        assignee=detail.assignee, resolution=e.resolution, resolved_at=e.resolved_at, notes=e.notes or "",
        reached_official=detail.reached_official,
        notifications=[
            NotificationItem(id=n.id, rule=n.rule, level=n.level, to=_mobile(work.viewer, n.to_number), state=n.state,
                             created_at=n.created_at, sent_at=n.sent_at, delivered_at=n.delivered_at,
                             provider_error_code=n.provider_error_code)
            for n in detail.notifications
        ],
        history=[HistoryItem(at=a.at, actor=a.actor, action=a.action, before=a.before, after=a.after)
                 for a in detail.history],
    )


@router.get("/escalations/{escalation_id}", response_model=EscalationDetailOut,
            responses={**ERRORS, 404: {"description": "no such escalation"}}, summary="One escalation with history")
def escalation_detail(request: Request, escalation_id: EscalationId) -> EscalationDetailOut:
    with unit_of_work(request) as work:
        return _detail_out(work, escalation_id)


ACTION_RESPONSES = {**ERRORS, 404: {"description": "no such escalation"},
                    409: {"description": "the action does not fit the escalation's state"}}


def _act(request: Request, escalation_id: EscalationId, action: str, **fields) -> EscalationDetailOut:
    with unit_of_work(request, allowed=ACTORS, write=True) as work:
        apply_action(work, escalation_id, action, **fields)
        work.session.flush()
        return _detail_out(work, escalation_id)


@router.post("/escalations/{escalation_id}/acknowledge", response_model=EscalationDetailOut,
             responses=ACTION_RESPONSES, summary="认领: acknowledge")
def acknowledge(request: Request, escalation_id: EscalationId) -> EscalationDetailOut:
    return _act(request, escalation_id, "acknowledge")


@router.post("/escalations/{escalation_id}/assign", response_model=EscalationDetailOut,
             responses=ACTION_RESPONSES, summary="Assign to a supervisor")
def assign(request: Request, escalation_id: EscalationId, body: AssignIn) -> EscalationDetailOut:
    return _act(request, escalation_id, "assign", assignee=body.assignee)


@router.post("/escalations/{escalation_id}/notes", response_model=EscalationDetailOut,
             responses=ACTION_RESPONSES, summary="Add a note")
def add_note(request: Request, escalation_id: EscalationId, body: NoteIn) -> EscalationDetailOut:
    return _act(request, escalation_id, "note", text=body.text)


@router.post("/escalations/{escalation_id}/resolve", response_model=EscalationDetailOut,
             responses=ACTION_RESPONSES, summary="办结: resolve with a resolution")
def resolve(request: Request, escalation_id: EscalationId, body: ResolveIn) -> EscalationDetailOut:
    return _act(request, escalation_id, "resolve", resolution=body.resolution, text=body.note)


def _project_out(p: lights.ProjectLights) -> dict:
    return dict(
        code=p.code, name=p.name, unit=p.unit, level=p.level, owner=p.owner, status=p.status, light=p.worst.value,
        schedule=p.series,
        milestones=[MilestoneOut(name=m.name, due_date=m.due_date, completed_on=m.completed_on,
                                 light=m.light.value, days_overdue=m.days_overdue) for m in p.milestones],
    )


@router.get("/projects", response_model=ProjectPage, responses=ERRORS, summary="Traffic lights of active projects")
def projects(
    request: Request,
    unit: str = "",
    level: str = "",
    q: str = Query("", max_length=100),
    light: Literal["", "red", "yellow", "green"] = "",
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    co_unit: str = Query("", max_length=200, description="协办单位: projects this unit assists"),
) -> ProjectPage:
    with unit_of_work(request) as work:
        rows, total = board_rows(work, unit=unit, level=level, text=q, light=light, limit=limit, offset=offset,
                                 co_unit=co_unit)
        return ProjectPage(total=total, items=[ProjectOut(**_project_out(p)) for p in rows])


@router.get("/projects/{code:path}", response_model=ProjectDetailOut,
            responses={**ERRORS, 404: {"description": "no such project"}}, summary="One project")
def project(request: Request, code: str) -> ProjectDetailOut:
    with unit_of_work(request) as work:
        detail = project_page.project_detail(work.session, code, today=work.today, settings=work.context.settings,
                                       mask_mobiles=not work.viewer.sees_mobiles)
        return ProjectDetailOut(
            **_project_out(detail.project), co_units=detail.co_units, lead_leader=detail.lead_leader,
            notifications=[ProjectNotificationOut(id=n.id, milestone=n.milestone, rule=n.rule, to=n.to, state=n.state,
                                                  created_at=n.created_at, delivered_at=n.delivered_at)
                           for n in detail.notifications],
            escalations=[ProjectEscalationOut(id=e.id, milestone=e.milestone, due_date=e.due_date, level=e.level,
                                              state=e.state, reason=e.reason, resolution=e.resolution)
                         for e in detail.escalations],
        )


@router.get("/evaluation", response_model=EvaluationOut,
            responses={**ERRORS, 400: {"description": "bad period"}}, summary="Evaluation per unit and official")
def evaluation(request: Request, start: str = "", end: str = "",
               co_unit: str = Query("", max_length=200, description="协办单位: only the projects this unit assists"),
               ) -> EvaluationOut:
    with unit_of_work(request) as work:
        start_day, end_day = parse_period(start, end, today=work.today)
        co_unit = co_unit.strip()
        result = evaluate_for(work, start_day, end_day, co_unit)
        assisting = co_unit_records(work.session, start=start_day, end=end_day, today=work.today,
                                    co_unit=co_unit) if co_unit else []

        def rows(items) -> list[EvaluationRowOut]:
            return [EvaluationRowOut(name=r.name, unit=r.unit, mobile=r.mobile, milestones_due=r.milestones_due,
                                     completed_on_time=r.completed_on_time, completed_late=r.completed_late,
                                     still_overdue=r.still_overdue, on_time_rate=r.on_time_rate,
                                     avg_days_late=r.avg_days_late, escalations_level2=r.escalations_level2)
                    for r in items]

        return EvaluationOut(start=start_day, end=end_day, units=rows(result.units), officials=rows(result.officials),
                             co_units=rows(assisting))
