"""Jinja2 templates of the board and the Chinese labels and filters they use."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.responses import HTMLResponse

from deadline_watch.board.lights import Light
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain import labels
from deadline_watch.domain.models import (
    EscalationReason,
    EscalationState,
    MilestoneStatus,
    NotificationRule,
    NotificationState,
    ProjectLevel,
    ProjectStatus,
    Resolution,
    UserRole,
)

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

ESCALATION_STATE_ZH = labels.ESCALATION_STATE
REASON_ZH = labels.REASON
RESOLUTION_ZH = labels.RESOLUTION
NOTIFICATION_STATE_ZH = labels.NOTIFICATION_STATE
RULE_ZH = labels.RULE
ROLE_ZH = labels.ROLE
ACTION_ZH = labels.ACTION
MILESTONE_STATUS_ZH = labels.MILESTONE_STATUS
PROJECT_STATUS_ZH = labels.PROJECT_STATUS
REFERRAL_STATE_ZH = labels.REFERRAL_STATE
LIGHT_ZH = {light.value: light.label for light in Light}
PROJECT_LEVELS = tuple(level.value for level in ProjectLevel)


def level_zh(level: int | None) -> str:
    return labels.level_text(level)


def phone(number: str | None, viewer: Any) -> Markup:
    """A mobile as the viewer may see it: a tel: link for the roles in web.full_mobiles_for,
    masked text for the others, a dash when there is none."""
    if not number:
        return Markup("—")
    if "*" in number:  # masked already by the read model
        return Markup('<span class="tel masked">{0}</span>').format(number)
    if viewer is not None and getattr(viewer, "sees_mobiles", False):
        return Markup('<a class="tel" href="tel:{0}">{0}</a>').format(number)
    return Markup('<span class="tel masked">{0}</span>').format(mask_mobile(number))


@pass_context
def actor_zh(context: Any, actor: str | None) -> str:
    """系统, or a board user by display name and role (`people` in the page's context)."""
    return labels.actor_text(actor, context.get("people") or {})


def local_time(instant: datetime | None, tz: Any) -> str:
    if instant is None:
        return "—"
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def iso_date(day: date | None) -> str:
    return day.isoformat() if day else "—"


def make_templates(settings: Any) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.globals.update(
        # the enums carry their Chinese labels: `EscalationState.label_of(row.state)`
        EscalationState=EscalationState,
        EscalationReason=EscalationReason,
        Resolution=Resolution,
        NotificationState=NotificationState,
        NotificationRule=NotificationRule,
        UserRole=UserRole,
        ProjectStatus=ProjectStatus,
        MilestoneStatus=MilestoneStatus,
        Light=Light,
        ACTION_ZH=ACTION_ZH,
        ESCALATION_STATE_ZH=ESCALATION_STATE_ZH,
        REASON_ZH=REASON_ZH,
        RESOLUTION_ZH=RESOLUTION_ZH,
        NOTIFICATION_STATE_ZH=NOTIFICATION_STATE_ZH,
        RULE_ZH=RULE_ZH,
        ROLE_ZH=ROLE_ZH,
        LIGHT_ZH=LIGHT_ZH,
        MILESTONE_STATUS_ZH=MILESTONE_STATUS_ZH,
        PROJECT_STATUS_ZH=PROJECT_STATUS_ZH,
        REFERRAL_STATE_ZH=REFERRAL_STATE_ZH,
        ENTITY_ZH=labels.ENTITY,
        EVIDENCE=labels.EVIDENCE,
        PROJECT_LEVELS=PROJECT_LEVELS,
        ZONE_NAME=labels.zone_name(settings.timezone),
    )
    env.filters["level_zh"] = level_zh
    env.filters["local_time"] = lambda instant: local_time(instant, settings.tz)
    env.filters["iso_date"] = iso_date
    env.filters["mask_mobile"] = lambda text: mask_mobile(text) if text else "—"
    env.filters["phone"] = phone
    env.filters["actor_zh"] = actor_zh
    env.filters["action_zh"] = labels.action_text
    env.filters["entity_zh"] = labels.entity_text
    # a path segment: / ? # % and the rest encoded (Jinja's urlencode leaves "/" as is)
    env.filters["segment"] = lambda value: quote(str(value), safe="")
    env.filters["query"] = lambda params: urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return templates


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a board page; `viewer` (or None on the login page) comes in `context`."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("viewer", None)
    context.setdefault("nav", "")
    return templates.TemplateResponse(request, template, context, status_code=status_code)
