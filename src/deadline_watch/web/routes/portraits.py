"""责任人画像 (/officials/{id}) and 单位画像 (/units/{id}): every signed-in role may read them."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from deadline_watch.board import portraits
from deadline_watch.core.logs import mask_mobile
from deadline_watch.web.auth import unit_of_work
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)


def _shown(portrait: portraits.Portrait, *, admin: bool) -> portraits.Portrait:
    """Mobiles masked unless an admin is looking (the evaluation page's rule)."""
    if admin:
        return portrait
    officials = [replace(r, mobile=mask_mobile(r.mobile) if r.mobile else None) for r in portrait.officials]
    return replace(portrait, mobile=mask_mobile(portrait.mobile) if portrait.mobile else None, officials=officials)


@router.get("/officials/{person_id:int}")
def official_page(request: Request, person_id: int) -> Response:
    with unit_of_work(request) as work:
        portrait = portraits.official_portrait(work.session, person_id, today=work.today)
        viewer, today = work.viewer, work.today
    portrait = _shown(portrait, admin=viewer.is_admin)
    return page(request, "portrait.html", viewer=viewer, nav="evaluation", p=portrait, today=today,
                chart=Markup(portrait.chart_svg()))


@router.get("/units/{unit_id:int}")
def unit_page(request: Request, unit_id: int) -> Response:
    with unit_of_work(request) as work:
        portrait = portraits.unit_portrait(work.session, unit_id, today=work.today)
        viewer, today = work.viewer, work.today
    portrait = _shown(portrait, admin=viewer.is_admin)
    return page(request, "portrait.html", viewer=viewer, nav="evaluation", p=portrait, today=today,
                chart=Markup(portrait.chart_svg()))
