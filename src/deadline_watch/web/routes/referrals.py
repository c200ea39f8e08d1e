"""/referrals: the list of 移交问责 records, one referral's 线索移交单 (print view and .docx),
and recording the commission's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from deadline_watch.board import people, referral_sheet, referrals
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.web.auth import ACTORS, Work, unit_of_work
from deadline_watch.web.queue_view import unit_names
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)
PER_PAGE = 100
ReferralId = Annotated[int, Path(ge=1, le=2_147_483_647)]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class ReferralQueryError(DeadlineWatchError):
    """A referral filter with a date that is not a date."""


def _day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReferralQueryError("日期格式应为 年-月-日(如 2026-12-01)", "dates must be YYYY-MM-DD") from None


@dataclass(frozen=True)
class ReferralQuery:
    state: str = ""
    unit: str = ""
    start: str = ""
    end: str = ""
    q: str = ""

    def to_filter(self) -> referrals.ReferralFilter:
        return referrals.ReferralFilter(
            state=self.state if self.state in referrals.STATES else None,
            unit=self.unit or None, start=_day(self.start), end=_day(self.end), text=self.q or None,
        )

    def params(self, **changes: object) -> dict[str, object]:
        values: dict[str, object] = {"state": self.state, "unit": self.unit, "start": self.start, "end": self.end,
                                     "q": self.q}
        values.update(changes)
        return values


def _sheet(work: Work, referral_id: int) -> tuple[object, referral_sheet.ReferralSheet]:
    referral = referrals.get_referral(work.session, referral_id)
    names = people.display_names(work.session, [referral.referred_by, referral.answered_by or "",
                                                *(item.get("actor", "") for item in referral.facts.get("history", []))])
    sheet = referral_sheet.build_sheet(referral, tz=work.context.settings.tz, people=names,
                                       show_mobiles=work.viewer.sees_mobiles)
    return referral, sheet


@router.get("/referrals")
def referral_list(
    request: Request,
    state: str = "",
    unit: str = "",
    start: str = "",
    end: str = "",
    q: str = "",
    page_number: int = Query(1, alias="page", ge=1, le=100_000),
) -> Response:
    query = ReferralQuery(state=state, unit=unit.strip()[:200], start=start[:10], end=end[:10], q=q.strip()[:100])
    with unit_of_work(request) as work:
        rows, total = referrals.list_referrals(work.session, query.to_filter(), tz=work.context.settings.tz,
                                               limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE)
        pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
        return page(request, "referrals.html", viewer=work.viewer, nav="referrals", rows=rows, total=total,
                    query=query, units=unit_names(work.session), page_number=page_number, pages=pages)


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, referral_id: ReferralId) -> Response:
    with unit_of_work(request) as work:
        referral, sheet = _sheet(work, referral_id)
        return page(request, "referral.html", viewer=work.viewer, nav="referrals", referral=referral, sheet=sheet,
                    done=request.query_params.get("done", ""))


@router.get("/referrals/{referral_id}/sheet.docx")
def referral_docx(request: Request, referral_id: ReferralId) -> Response:
    with unit_of_work(request) as work:
        _, sheet = _sheet(work, referral_id)
    content = referral_sheet.sheet_docx(sheet)
    filename = f"线索移交单-{referral_id}.docx"
    return Response(content, media_type=DOCX, headers={
        "Content-Disposition": f"attachment; filename=\"referral-{referral_id}.docx\"; filename*=UTF-8''{quote(filename)}"
    })


@router.post("/referrals/{referral_id}/outcome")
def referral_outcome(request: Request, referral_id: ReferralId, csrf_token: str = Form(""),
                     outcome: str = Form("")) -> Response:
    with unit_of_work(request, allowed=ACTORS, write=True, csrf=csrf_token) as work:
        referrals.record_outcome(work.session, referral_id, outcome=outcome, actor=work.viewer.actor, now=work.now)
    return RedirectResponse(f"/referrals/{referral_id}?done=outcome", status_code=303)
