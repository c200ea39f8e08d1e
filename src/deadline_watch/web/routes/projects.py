"""The traffic-light board of active projects and one project's page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import RedirectResponse, Response

from deadline_watch.board import completion, health, people, reviews
from deadline_watch.board.lights import ProjectLights
from deadline_watch.board.project_board import project_board as read_board
from deadline_watch.board.project_board import project_board_count
from deadline_watch.board.project_page import project_detail
from deadline_watch.core.errors import NotFoundError
from deadline_watch.domain import co_units
from deadline_watch.domain.models import Milestone
from deadline_watch.web.auth import ADMINS, Work, unit_of_work
from deadline_watch.web.queue_view import unit_names
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)
PROJECTS_PER_PAGE = 100
LIGHT_FILTERS = ("red", "yellow", "green")


def board_rows(work: Work, *, unit: str, level: str, text: str, light: str, limit: int,
               offset: int, co_unit: str = "") -> tuple[list[ProjectLights], int]:
    """One page of the traffic-light board and the number of matching projects (page and API)."""
    settings = work.context.settings
    filters = {"unit": unit or None, "level": level or None, "text": text.strip() or None, "light": light or None,
               "co_unit": co_unit.strip() or None}
    total = project_board_count(work.session, today=work.today, settings=settings, **filters)
    rows = read_board(work.session, today=work.today, settings=settings, limit=limit, offset=offset, **filters)
    return rows, total


@router.get("/projects")
def project_board(
    request: Request,
    unit: str = "",
    level: str = "",
    q: str = "",
    light: str = "",
    co_unit: str = Query("", max_length=200),
    page_number: int = Query(1, alias="page", ge=1, le=100_000),
) -> Response:
    with unit_of_work(request) as work:
        light = light if light in LIGHT_FILTERS else ""
        rows, total = board_rows(work, unit=unit, level=level, text=q, light=light, limit=PROJECTS_PER_PAGE,
                                 offset=(page_number - 1) * PROJECTS_PER_PAGE, co_unit=co_unit)
        pages = max((total + PROJECTS_PER_PAGE - 1) // PROJECTS_PER_PAGE, 1)
        return page(
            request, "projects.html", viewer=work.viewer, nav="projects", rows=rows, total=total,
            units=unit_names(work.session), co_units=co_units.co_unit_names(work.session),
            params={"unit": unit, "level": level, "q": q, "light": light, "co_unit": co_unit},
            page_number=page_number, pages=pages, today=work.today,
        )


@router.get("/projects/{code:path}")
def project_page(request: Request, code: str) -> Response:
    with unit_of_work(request) as work:
        detail = project_detail(
            work.session, code, today=work.today, settings=work.context.settings,
            mask_mobiles=not work.viewer.sees_mobiles,
        )
        progress = reviews.latest_progress(work.session, [m.id for m in detail.milestones])
        names = people.display_names(work.session, [h.actor for h in detail.history])
        extensions, returns = reviews.review_counts(work.session, health.scored_milestone_ids(detail))
        return page(request, "project.html", viewer=work.viewer, nav="projects", detail=detail, today=work.today,
                    people=names, done=request.query_params.get("done", ""), progress=progress,
                    health=health.project_health(detail, extensions=extensions, returns=returns))


@router.post("/projects/{code}/milestones/{milestone_id}/reopen")
def reopen_milestone(request: Request, code: str, milestone_id: int = FastPath(ge=1, le=2_147_483_647),
                     csrf_token: str = Form("")) -> Response:
    """The admin's correction of a completion recorded by mistake (see board.completion)."""
    with unit_of_work(request, allowed=ADMINS, write=True, csrf=csrf_token) as work:
        milestone = work.session.get(Milestone, milestone_id)
        if milestone is None or milestone.project.code != code:
            raise NotFoundError("节点不存在", f"no milestone {milestone_id} in project {code}")
        completion.reopen_milestone(work.session, code, milestone.name, now=work.now, actor=work.viewer.actor)
    return RedirectResponse(f"/projects/{quote(code, safe='')}?done=reopen", status_code=303)
