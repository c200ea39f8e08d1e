"""/reviews (待审核): officials' completion and extension requests, 通过 and 退回, evidence files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from deadline_watch.board import reviews
from deadline_watch.domain.models import User
from deadline_watch.web.auth import ACTORS, unit_of_work
from deadline_watch.web.evidence_download import evidence_response
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)

RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/reviews")
def review_list(request: Request) -> Response:
    with unit_of_work(request) as work:
        rows = reviews.pending_reviews(work.session)
        return page(request, "reviews.html", viewer=work.viewer, nav="reviews", rows=rows, kinds=reviews.KIND_ZH,
                    done=request.query_params.get("done", ""))


@router.get("/reviews/{request_id}")
def review_page(request: Request, request_id: RowId) -> Response:
    with unit_of_work(request) as work:
        detail = reviews.review_detail(work.session, request_id)
        return page(request, "review.html", viewer=work.viewer, nav="reviews", detail=detail, kinds=reviews.KIND_ZH,
                    states=reviews.STATE_ZH)


@router.post("/reviews/{request_id}/approve")
def approve(request: Request, request_id: RowId, csrf_token: str = Form("")) -> Response:
    with unit_of_work(request, allowed=ACTORS, write=True, csrf=csrf_token) as work:
        reviewer = work.session.get(User, work.viewer.id)
        assert reviewer is not None
        reviews.approve(work.session, request_id, reviewer=reviewer, now=work.now)
    return RedirectResponse("/reviews?done=approved", status_code=303)


@router.post("/reviews/{request_id}/return")
def return_request(request: Request, request_id: RowId, reason: str = Form(""), csrf_token: str = Form("")) -> Response:
    with unit_of_work(request, allowed=ACTORS, write=True, csrf=csrf_token) as work:
        reviewer = work.session.get(User, work.viewer.id)
        assert reviewer is not None
        reviews.return_request(work.session, request_id, reason=reason, reviewer=reviewer,
                               settings=work.context.settings, now=work.now)
    return RedirectResponse("/reviews?done=returned", status_code=303)


@router.get("/evidence/{file_id}")
def evidence_file(request: Request, file_id: RowId, inline: int = 0) -> Response:
    with unit_of_work(request) as work:
        row = reviews.evidence_file(work.session, file_id)
        return evidence_response(row, inline=bool(inline))
