"""The escalation queue (home page), one escalation's page, and the actions on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from deadline_watch.board import people, referrals, resolutions, reviews, supervision
from deadline_watch.domain.models import Escalation, User
from deadline_watch.web.auth import ACTORS, Work, unit_of_work
from deadline_watch.web.queue_view import QueueQuery, queue_page
from deadline_watch.web.rendering import page
from deadline_watch.web.routes.login import safe_next

router = APIRouter(include_in_schema=False)

# ids fit a 32-bit integer column: anything larger is a 422, never a database overflow
EscalationId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/")
def queue(
    request: Request,
    unit: str = "",
    level: str = "",
    state: str = "",
    project_level: str = "",
    q: str = "",
    lead_leader: str = "",
    co_unit: str = "",
    page_number: int = Query(1, alias="page", ge=1, le=100_000),
) -> Response:
    query = QueueQuery.from_params(unit=unit, level=level, state=state, project_level=project_level,
                                   text=q, page=page_number, lead_leader=lead_leader, co_unit=co_unit)
    with unit_of_work(request) as work:
        result = queue_page(work, query)
        return page(request, "queue.html", viewer=work.viewer, nav="queue", result=result, query=query)


@router.get("/escalations/{escalation_id}")
def escalation_page(request: Request, escalation_id: EscalationId) -> Response:
    with unit_of_work(request) as work:
        detail = supervision.escalation_detail(work.session, escalation_id, today=work.today, tz=work.context.settings.tz)
        completed = detail.milestone_status == "completed" or detail.completed_on is not None
        return page(
            request,
            "escalation.html",
            viewer=work.viewer,
            nav="queue",
            detail=detail,
            assignable=supervision.assignable_users(work.session) if work.viewer.can_act else [],
            resolutions=resolutions.allowed_resolutions(completed=completed),
            undoable=detail.escalation.resolution in resolutions.UNDOABLE,
            referral=referrals.referral_for_escalation(work.session, escalation_id),
            people=people.display_names(work.session, [event.actor for event in detail.history]),
            done=request.query_params.get("done", ""),
            progress=reviews.latest_progress(work.session, [detail.escalation.milestone_id]).get(
                detail.escalation.milestone_id
            ),
        )


def apply_action(
    work: Work,
    escalation_id: EscalationId,
    action: str,
    *,
    assignee: str | None = None,
    text: str | None = None,
    resolution: str | None = None,
) -> Escalation:
    """One place that turns an action name into a supervision call (pages and API share it)."""
    actor = work.session.get(User, work.viewer.id)
    assert actor is not None  # load_viewer found this user in the same transaction
    if action == "acknowledge":
        return supervision.acknowledge(work.session, escalation_id, actor=actor, now=work.now)
    if action == "assign":
        return supervision.assign(work.session, escalation_id, assignee=assignee or "", actor=actor, now=work.now)
    if action == "note":
        return supervision.add_note(work.session, escalation_id, text=text or "", actor=actor, now=work.now)
    if action == "resolve":
        return resolutions.resolve_item(
            work.session, escalation_id, resolution=resolution or "", note=text, actor=actor, now=work.now,
            today=work.today, tz=work.context.settings.tz,
        )
    if action == "unresolve":
        return resolutions.undo_resolution(work.session, escalation_id, actor=actor, now=work.now, note=text)
    raise supervision.SupervisionError(f"未知操作: {action}", f"unknown action: {action}")


@router.post("/escalations/{escalation_id}/{action}")
def escalation_action(
    request: Request,
    escalation_id: EscalationId,
    action: str,
    csrf_token: str = Form(""),
    assignee: str = Form(""),
    text: str = Form(""),
    resolution: str = Form(""),
    next: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    with unit_of_work(request, allowed=ACTORS, write=True, csrf=csrf_token) as work:
        if action == "resolve" and confirm != "1":
            # 办结 is final: first a page that says what will happen, then the real POST
            resolutions.check_resolution(work.session, escalation_id, resolution)
            detail = supervision.escalation_detail(work.session, escalation_id, today=work.today,
                                                   tz=work.context.settings.tz)
            return page(request, "resolve_confirm.html", viewer=work.viewer, nav="queue", detail=detail,
                        resolution=resolution, text=text.strip())
        apply_action(work, escalation_id, action, assignee=assignee, text=text, resolution=resolution)
    if next:  # the queue's own 认领 button returns to the same queue page
        return RedirectResponse(safe_next(next), status_code=303)
    return RedirectResponse(f"/escalations/{escalation_id}?done={action}", status_code=303)
